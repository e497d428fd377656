"""Progress lines in a terminal (`undo-tui run`, `resume`, `demo --headless`): the time, the
stage, its counts against the whole stage's total, and how long it has taken."""

from __future__ import annotations

import store


def test_run_progress_lines_carry_the_time_the_stage_total_and_elapsed(tui_store, monkeypatch):
    """`undo-tui run`/`resume` print the engine's progress events: when, which stage, how far
    against the whole stage's total (a teacher pass with retries counts tries), how long."""
    import io
    import time

    from undo_tui.commands.progress_line import ProgressLine

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    path, ids = tui_store
    db = store.open_store(path)
    try:
        store.add_event(db, ids["live"], "progress", stage="teacher", iteration=3, done=70,
                        total=180, data={"kept": 5, "rounds": 3, "examples": 60,
                                         "elapsed_s": 45.0, "eta_s": 80.0})
        store.add_event(db, ids["live"], "progress", stage="train", iteration=3, done=4,
                        total=40, data={"loss": 1.25, "elapsed_s": 125.0, "eta_s": 900.0})
        out = io.StringIO()
        line = ProgressLine(db, ids["live"], stream=out)
        line.last_id = store.events_since(db, ids["live"], kinds=("progress",))[-3].id
        line.tick()
        events = store.events_since(db, ids["live"], kinds=("progress",))
    finally:
        db.close()
    stamp = time.strftime("%H:%M:%S", time.localtime(events[-1].ts))
    assert out.getvalue() == (f"{stamp} [train it 3] 4/40 · step loss 1.250 · 2:05 elapsed · "
                              "ETA 15:00\n")
    from undo_tui.commands.progress_line import format_progress

    teacher = format_progress(events[-2])
    assert teacher.endswith("[teacher it 3] 70/180 tries · kept 5 · 0:45 elapsed · ETA 1:20")


def test_training_and_evaluation_progress_carry_the_stage_elapsed_time(tui_store):
    from engine.loop.stage_context import StageContext

    path, ids = tui_store
    db = store.open_store(path)
    try:
        ctx = StageContext(db, path, store.get_run(db, ids["live"]), None, None, 3)
        ctx.progress_reporter("train")({"step": 40, "total_steps": 40, "loss": 0.5})
        event = store.latest_progress(db, ids["live"])["train"]
    finally:
        db.close()
    assert (event.iteration, event.done, event.total) == (3, 40, 40)
    assert 0 <= event.data["elapsed_s"] < 60 and event.data["loss"] == 0.5

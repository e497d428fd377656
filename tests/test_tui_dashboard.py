"""Run dashboard: iterations table, baseline, stage progress, log tail, teacher note, live updates."""

from __future__ import annotations

import io
import re

import pytest

import store
from tests.fixtures.tui_fixtures import (VAL_PATTERNS, expected, open_dashboard, screen_named,
                                        wait_for, wait_notified)
from undo_tui.app import UndoApp
from undo_tui.screens.dashboard import DashboardScreen, teacher_quality_note

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tui_env")]


def table_k(dash, k):
    return row(dash.query_one("#iterations"), k)


def row(table, k):
    return [str(c) for c in table.get_row(str(k))]


async def test_iterations_table_shows_every_column(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, ids["run"])
        table = dash.query_one("#iterations")
        assert table.row_count == 4
        k0, k1, k2, k3 = (row(table, k) for k in range(4))
        # k, status, train n, kept, val strict [95% Wilson], Δ val with its McNemar verdict,
        # flexible, test strict [95%], format, fixed/regr, loss, wall, tokens, cost
        assert k1 == ["1", "done", "10", "9/12 75%", "50.0% [21.5–78.5]", "+37.5 noise", "62.5%",
                      "25.0% [4.6–69.9]", "75%", "+3 / −0", "1.250", "2:05", "6.0k", "—"]
        # iteration 2 is the marked best, but not starred: it does not beat k=0 beyond noise
        assert k2[0] == "2" and k2[4].startswith(f"{expected(VAL_PATTERNS, 2):.1%} [")
        assert k2[3] == "1/12 8%" and k2[5] == "+12.5 noise" and k2[9] == "+2 / −1"
        assert k3[5] == "-12.5 noise" and k3[9] == "+1 / −2"
        assert k0[3] == "—" and k0[5] == "—" and k0[8] == "25%"
        # the fixed/regressed counts are the store's own transitions on val
        db = store.open_store(path)
        try:
            t = store.transitions(db, ids["run"], "val", 2, 3)
        finally:
            db.close()
        assert k3[9] == f"+{t.fixed} / −{t.regressed}"


async def test_summary_baseline_and_teacher_note(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, ids["run"])
        summary = str(dash.query_one("#dash-summary").render())
        assert "undo-arith" in summary and "finished" in summary
        # equal budget: the baseline at the best's k, and UNDO's change from it on the same
        # 8 validation examples (3 fixed, 1 regressed: McNemar p = 0.625)
        assert "baseline baseline-equal at k=2: 37.5% [13.7–69.4], UNDO +3/−1 p=0.62 " \
               "(within noise)" in summary
        # iteration 2 fixed 4 of the untrained student's errors and broke none: p = 0.125 on 8
        assert "no iteration beats the untrained student beyond noise (best trained 2: +4/−0, " \
               "p=0.12)" in summary and "★" not in str(table_k(dash, 2))
        assert "validation n=8: changes under 75.0 points cannot be told from noise" in summary
        assert dash.data.baseline.run.id == ids["baseline"]
        assert [it.k for it in dash.data.baseline_iterations] == [1, 2, 3]
        note = str(dash.query_one("#quality-note").render())
        # the fixture's refinement iterations kept 1 and 2 of 12: a weak teacher, and the fix
        assert "Teacher yield: 33% of 36 attempts kept (iteration 3: 17%)" in note
        assert "Low: a weak teacher limits what refinement can do" in note
        assert "point the config's [teacher] at a stronger model (an OpenAI-compatible URL or " \
               "a larger GGUF)" in note
        plot = dash.query_one("#accuracy-plot")
        assert plot.plt is not None
        log = dash.query_one("#log-tail")
        assert len(log.lines) == 5
        assert "finished: no improvement" in "".join(s.text for s in log.lines[-1:])


def test_teacher_note_with_a_good_teacher_says_so():
    it = store.Iteration(1, 1, 2, "done", None, 10, 10, 9, 0.5, None, None, None, 0, 0, 0.0, 0, {},
                         None, False, None, None, None)
    assert "enough" in teacher_quality_note([it]).plain
    assert "no teacher pass" in teacher_quality_note([]).plain


async def test_a_running_run_shows_stage_progress_and_updates_live(tui_store):
    path, ids = tui_store
    app = UndoApp(path, poll_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, ids["live"])
        title = str(dash.query_one("#stage-title").render())
        assert "train (iteration 2)" in title
        train = dash.query_one("#stage-train")
        assert train.has_class("-current")
        assert str(train.query_one(".stage-detail").render()) == \
            "10/40 · step loss 1.500 · ETA 1:35 (it 2)"
        assert train.query_one("ProgressBar").progress == 10
        assert "12/12" in str(dash.query_one("#stage-teacher .stage-detail").render())
        assert str(dash.query_one("#stage-evaluate .stage-detail").render()) == \
            "no progress recorded"
        log = dash.query_one("#log-tail")
        before = len(log.lines)
        # the engine, in another connection, moves on: progress, a log line, a new stage
        db = store.open_store(path)
        try:
            store.add_event(db, ids["live"], "progress", stage="train", iteration=2, done=40,
                            total=40, data={"loss": 0.7})
            store.add_event(db, ids["live"], "log", iteration=2, message="training done")
            store.update_run(db, ids["live"], stage="evaluate (iteration 2)")
            store.add_event(db, ids["live"], "progress", stage="evaluate", iteration=2, done=3,
                            total=8)
        finally:
            db.close()
        await wait_for(pilot, lambda: dash.query_one("#stage-evaluate").has_class("-current"),
                       what="stage change")
        assert train.query_one("ProgressBar").progress == 40
        assert "3/8" in str(dash.query_one("#stage-evaluate .stage-detail").render())
        await wait_for(pilot, lambda: len(log.lines) == before + 1, what="log line")
        assert "training done" in log.lines[-1].text


async def test_stop_from_the_dashboard_writes_the_request(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, ids["live"])
        await pilot.press("s")
        await wait_for(pilot, lambda: dash.data.run.stop_requested, what="stop shown")
        assert dash.data.run.status == "stopping"
        # a finished run has nothing to stop
        app.pop_screen()
        dash = await open_dashboard(app, pilot, ids["run"])
        await pilot.press("s")
        await wait_notified(pilot, "nothing to stop")
        assert isinstance(app.screen, DashboardScreen)


async def test_enter_on_an_iteration_opens_its_errors(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(app, pilot, ids["run"])
        await pilot.press("j", "enter")  # iteration 1
        errors = await wait_for(pilot, lambda: (s := screen_named(app, "ErrorsScreen")) and
                                s.flt and s)
        assert errors.flt.iteration == 1 and errors.flt.split == "val"


# -- transfer runs (issue 6): source vs transfer student, refined vs iteration-1 data ------------

def add_transfers(path, ids) -> dict:
    """Two transfer runs of one new student: on iteration 1's data and on iteration 2's (best)."""
    db = store.open_store(path)
    try:
        made = {}
        for k, rows, trained in ((1, 9, 0.25), (2, 12, 0.5)):
            export = store.record_export(db, run_id=ids["run"], iteration=k, fmt="trl-messages",
                                         path=f"/data/k{k}.jsonl", rows=rows, manifest={})
            run = store.create_run(db, f"arith-k{k}-to-tiny", {}, kind="transfer",
                                   dataset_id=ids["dataset"], teacher="llamacpp:smollm2-135m",
                                   student="/models/tiny-llama", source_run_id=ids["run"],
                                   source_export_id=export)
            right = round(trained * 8)  # of the 8 val examples: the first `right` are correct
            counts = {0: 1, 1: right}
            store.add_predictions(db, [
                store.NewPrediction(run, it, "val", example_id, "Answer: 0",
                                    correct=i < counts[it])
                for i, example_id in enumerate(ids["val_ids"]) for it in (0, 1)])
            store.upsert_iteration(db, run, 0, status="done", val_accuracy=0.125,
                                   test_accuracy=0.0,
                                   metrics={"val_correct": 1, "val_total": 8})
            store.upsert_iteration(db, run, 1, status="done", val_accuracy=trained,
                                   test_accuracy=0.25, train_size=rows,
                                   metrics={"val_correct": right, "val_total": 8})
            store.mark_best_iteration(db, run, 1)
            store.update_run(db, run, status="finished",
                             stop_reason="transfer student trained and evaluated")
            made[k] = run
        return made
    finally:
        db.close()


def panel_text(dash) -> str:
    from rich.console import Console

    console = Console(width=160, record=True, file=io.StringIO())
    console.print(dash.query_one("#transfer-panel").content)
    return console.export_text()


async def test_an_undo_run_lists_its_transfers_by_data(tui_store):
    path, ids = tui_store
    transfers = add_transfers(path, ids)
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, ids["run"])
        assert [link.transfer.run_id for link in dash.data.transfers] == [transfers[1],
                                                                           transfers[2]]
        assert dash.query_one("#transfer-panel").display
        text = panel_text(dash)
        assert "Transfer runs on this run's data (2)" in text
        first, refined = (line for line in text.splitlines() if "tiny-llama " in line)
        assert "k1 iteration-1 data" in first and "25.0%" in first
        assert "k2★ refined data" in refined and "50.0%" in refined
        # trained vs untrained, same student: 3 fixed, none broken, p = 0.25 on 8 examples
        assert "+37.5 noise" in refined and "12.5% [2.2–47.1]" in refined
        # refined vs iteration-1 data on the same 8 validation examples
        assert ("tiny-llama: refined data 50.0% [21.5–78.5] vs iteration-1 data 25.0% "
                "[7.1–59.1]: +2/−0 p=0.50 (within noise)") in text


async def test_a_transfer_run_compares_source_and_transfer_student(tui_store):
    path, ids = tui_store
    transfers = add_transfers(path, ids)
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, transfers[2])
        text = panel_text(dash)
        assert "Transfer: refined data from run 1 “undo-arith” iteration 2 (best) · export 2 " \
               "(trl-messages, 12 rows)" in text
        source = next(line for line in text.splitlines() if "source student" in line)
        # the source student's untrained and iteration-2 accuracy, from the source run
        assert "SmolLM2-135M-Instruct" in source
        assert f"{expected(VAL_PATTERNS, 0):.1%}" in source
        assert f"{expected(VAL_PATTERNS, 2):.1%}" in source
        transfer = next(line for line in text.splitlines() if "transfer student" in line)
        assert "tiny-llama" in transfer and "12.5%" in transfer and "50.0%" in transfer
        assert "+37.5" in transfer
        # the teacher did no work in a transfer: no teacher-yield note, no "kept" figure
        assert not dash.query_one("#quality-note").display
        table = dash.query_one("#iterations")
        assert str(table.get_row("1")[3]) == "—"
        summary = str(dash.query_one("#dash-summary").render())
        assert "student tiny-llama" in summary and "/models/" not in summary
        # the iteration-1 transfer is labelled as such
        app.pop_screen()
        dash = await open_dashboard(app, pilot, transfers[1])
        assert "Transfer: iteration-1 data from run 1 “undo-arith” iteration 1 ·" in \
            panel_text(dash)


async def test_runs_without_transfers_show_no_panel(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, ids["baseline"])
        assert dash.data.transfers == [] and dash.data.transfer is None
        assert not dash.query_one("#transfer-panel").display
        assert dash.query_one("#quality-note").display


async def test_runs_screen_shows_the_kind_and_the_source_of_a_transfer(tui_store):
    path, ids = tui_store
    transfers = add_transfers(path, ids)
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        runs = await wait_for(pilot, lambda: (s := screen_named(app, "RunsScreen")) and s.data
                              and s)
        name = str(runs.query_one("#runs-table").get_row(str(transfers[2]))[1])
        assert name.endswith(f" transfer←{ids['run']}") and name.startswith("arith-k2")


async def test_best_is_starred_when_the_engine_recorded_it_beats_the_untrained_student(tui_store):
    path, ids = tui_store
    db = store.open_store(path)
    try:
        store.mark_best_iteration(db, ids["run"], 2, beats_base=True)  # e.g. under stop_rule delta
    finally:
        db.close()
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, ids["run"])
        summary = str(dash.query_one("#dash-summary").render())
        assert "best iteration 2 (vs untrained: p=0.12)" in summary
        assert table_k(dash, 2)[0] == "2 ★"


async def test_plot_starts_at_zero_with_interval_bars(tui_store):
    from undo_tui.widgets.accuracy_plot import interval_points

    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, ids["run"])
        points = interval_points(dash.data.iterations, "val")
        assert [k for k, *_ in points] == [0, 1, 2, 3]
        k, acc, low, high = points[1]
        assert (acc, round(low, 1), round(high, 1)) == (50.0, 21.5, 78.5)
        plot = dash.query_one("#accuracy-plot")
        plot.plt.plotsize(60, 20)
        plain = re.sub(r"\x1b\[[0-9;]*m", "", plot.plt.build())
        lines = [line.rstrip() for line in plain.splitlines()]
        y_labels = [line.split("┤")[0].strip() for line in lines if "┤" in line]
        assert y_labels[-1] in ("0", "0.0") and "95% interval" in lines[0]


async def test_the_log_pane_scrolls_with_the_text_pane_keys(tui_store):
    path, ids = tui_store
    db = store.open_store(path)
    for i in range(40):
        store.add_event(db, ids["run"], "log", iteration=1, message=f"log line {i}")
    db.close()
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, ids["run"])
        log = dash.query_one("#log-tail")
        await pilot.press("l")
        assert app.focused is log
        await wait_for(pilot, lambda: log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y,
                       what="log at its end")
        await pilot.press("g")
        await wait_for(pilot, lambda: log.scroll_y == 0, what="g: top")
        await pilot.press("j", "j")
        await wait_for(pilot, lambda: log.scroll_y == 2, what="j: down a line")
        await pilot.press("k")
        await wait_for(pilot, lambda: log.scroll_y == 1, what="k: up a line")
        await pilot.press("G")
        await wait_for(pilot, lambda: log.scroll_y == log.max_scroll_y, what="G: bottom")


async def test_title_and_loss_columns_say_what_they_are(tui_store):
    path, ids = tui_store
    app = UndoApp(path, poll_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, ids["run"])
        summary = str(dash.query_one("#dash-summary").render())
        assert "finished: no improvement over best by 0.5 points" in summary
        assert "finished (" not in summary
        labels = [str(column.label) for column in dash.query_one("#iterations").columns.values()]
        assert "mean loss" in labels and "loss" not in labels
        app.pop_screen()
        dash = await open_dashboard(app, pilot, ids["live"])
        detail = str(dash.query_one("#stage-train .stage-detail").render())
        assert "step loss 1.500" in detail


async def test_a_live_first_teacher_pass_shows_its_yield_so_far(tui_store):
    """While the first pass runs, no iteration has a recorded yield yet, but progress has one."""
    path, ids = tui_store
    db = store.open_store(path)
    run = store.create_run(db, "first-pass", {}, teacher="t", student="s")
    store.upsert_iteration(db, run, 0, status="done", val_accuracy=0.1)
    store.upsert_iteration(db, run, 1, status="running")
    store.update_run(db, run, status="running", stage="teacher (iteration 1)", pid=None)
    store.add_event(db, run, "progress", stage="teacher", iteration=1, done=5, total=12,
                    data={"kept": 3, "attempted": 5})
    db.close()
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, run)
        note = str(dash.query_one("#quality-note").render())
        assert "kept 3 of 5 examples tried so far" in note
        assert "no teacher pass recorded" not in note
        assert "kept 3" in str(dash.query_one("#stage-teacher .stage-detail").render())

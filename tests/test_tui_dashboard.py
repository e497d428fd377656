"""Run dashboard: iterations table, baseline, stage progress, log tail, teacher note, live updates."""

from __future__ import annotations

import pytest

import store
from tests.fixtures.tui_fixtures import VAL_PATTERNS, expected, screen_named, wait_for
from undo_tui.app import UndoApp
from undo_tui.screens.dashboard import DashboardScreen, teacher_quality_note

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tui_env")]


async def open_dashboard(app, pilot, run_id):
    await wait_for(pilot, lambda: screen_named(app, "RunsScreen") and app.screen.data)
    app.open_dashboard(run_id)
    return await wait_for(pilot, lambda: (s := screen_named(app, "DashboardScreen")) and s.data
                          and s, what="dashboard loaded")


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
        # k, status, train n, kept, val, Δ val, test, format, fixed/regr, loss, wall, tokens, cost
        assert k1 == ["1", "done", "10", "9/12 75%", "50.0%", "+37.5", "25.0%", "75%", "+3 / −0",
                      "1.250", "2:05", "6.0k", "—"]
        assert k2[0] == "2 ★" and k2[4] == f"{expected(VAL_PATTERNS, 2):.1%}"
        assert k2[3] == "1/12 8%" and k2[5] == "+12.5" and k2[8] == "+2 / −1"
        assert k3[5] == "-12.5" and k3[8] == "+1 / −2"
        assert k0[3] == "—" and k0[5] == "—" and k0[7] == "25%"
        # the fixed/regressed counts are the store's own transitions on val
        db = store.open_store(path)
        try:
            t = store.transitions(db, ids["run"], "val", 2, 3)
        finally:
            db.close()
        assert k3[8] == f"+{t.fixed} / −{t.regressed}"


async def test_summary_baseline_and_teacher_note(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, ids["run"])
        summary = str(dash.query_one("#dash-summary").render())
        assert "undo-arith" in summary and "finished" in summary
        assert "best iteration 2" in summary and "baseline baseline-equal: 37.5%" in summary
        assert dash.data.baseline.run.id == ids["baseline"]
        assert [it.k for it in dash.data.baseline_iterations] == [1, 2, 3]
        note = str(dash.query_one("#quality-note").render())
        assert "Low" in note and "little to train on" in note
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
            "10/40 · loss 1.500 · ETA 1:35 (it 2)"
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
        await pilot.pause(0.1)
        assert any("nothing to stop" in n.message for n in app._notifications)
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

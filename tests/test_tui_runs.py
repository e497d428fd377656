"""Runs screen, first-run screen, opening stores, and the TUI process staying free of model code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import store
from tests.fixtures.tui_fixtures import screen_named, wait_for, wait_notified
from undo_tui.app import UndoApp

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tui_env")]
HEAVY = ("torch", "transformers", "llama_cpp", "peft", "datasets")
# The TUI may use pure engine modules (grading an edit, the statistics of what it shows), never
# the engine's machinery.
ENGINE_MACHINERY = ("engine.loop", "engine.student", "engine.teachers", "engine.generation",
                    "engine.export", "engine.importing", "engine.wheels")


async def runs_screen(pilot):
    return await wait_for(pilot, lambda: (s := screen_named(pilot.app, "RunsScreen")) and
                          s.data and s, what="runs loaded")


def cells(table, row):
    return [str(c) for c in table.get_row_at(row)]


async def test_runs_are_listed_newest_first_with_status_and_live_progress(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await runs_screen(pilot)
        table = screen.query_one("#runs-table")
        assert table.row_count == 3
        live, baseline, undo = (cells(table, i) for i in range(3))
        assert live[:3] == [str(ids["live"]), "live-run", "running"]
        assert live[-1] == "train 25%"
        assert baseline[1] == "baseline-equal"
        assert undo[:3] == [str(ids["run"]), "undo-arith", "finished"]
        assert undo[7] == "62.5% [30.6–86.3]"  # best (iteration 2): strict, 95% interval
        assert undo[3:6] == ["llamacpp:smollm2-135m", "SmolLM2-135M-Instruct", "arith-fixture"]
        assert undo[8] == "no improvement over best by 0.5 points"  # 160 columns: nothing cut
        line = str(screen.query_one("#runs-live").render())
        assert "train (iteration 2)" in line and "10/40" in line and "step loss 1.500" in line
        assert "ETA 1:35" in line
        # the hint under the table has the whole reason even where the row cuts it short
        await pilot.press("G")
        await wait_for(pilot, lambda: f"run {ids['run']} finished: no improvement over best by 0.5 points"
                       in str(screen.query_one("#runs-hint").render()), what="the whole reason")
        assert ("best iteration 2: strict validation accuracy 62.5% [30.6-86.3] n=8" in
                str(screen.query_one("#runs-hint").render()))
        await pilot.press("k")
        await wait_for(pilot, lambda: "iteration cap" in
                       str(screen.query_one("#runs-hint").render()), what="the baseline's reason")


async def test_progress_written_by_the_engine_shows_up_without_a_keypress(tui_store):
    path, ids = tui_store
    app = UndoApp(path, poll_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await runs_screen(pilot)
        db = store.open_store(path)  # the engine, writing in another connection
        try:
            store.add_event(db, ids["live"], "progress", stage="train", iteration=2, done=30,
                            total=40, data={"loss": 0.9, "eta_s": 20})
        finally:
            db.close()
        table = screen.query_one("#runs-table")
        await wait_for(pilot, lambda: cells(table, 0)[-1] == "train 75%", what="live update")
        assert "loss 0.900" in str(screen.query_one("#runs-live").render())


async def test_delete_asks_first_and_cancel_keeps_the_run(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await runs_screen(pilot)
        await pilot.press("G")  # run 1, finished
        assert screen.selected().run.id == ids["run"]
        await pilot.press("d")
        dialog = await wait_for(pilot, lambda: screen_named(app, "ConfirmDialog"))
        assert "undo-arith" in str(dialog.query_one(".dialog-body").render())
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("d")
        await wait_for(pilot, lambda: screen_named(app, "ConfirmDialog"))
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.query_one("#runs-table").row_count == 2,
                       what="run deleted")
    db = store.open_store(path)
    try:
        assert [s.run.id for s in store.list_runs(db)] == [ids["live"], ids["baseline"]]
    finally:
        db.close()


async def test_a_running_run_with_a_live_engine_cannot_be_deleted(tui_store):
    path, ids = tui_store
    db = store.open_store(path)
    store.update_run(db, ids["live"], pid=subprocess.os.getpid())  # "its engine": this process
    db.close()
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await runs_screen(pilot)
        await pilot.press("d")
        await pilot.pause(0.1)
        assert not screen_named(app, "ConfirmDialog")
        await wait_notified(pilot, "stop it")


async def test_enter_opens_the_dashboard_and_e_the_errors_browser(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await runs_screen(pilot)
        await pilot.press("G", "enter")
        dash = await wait_for(pilot, lambda: screen_named(app, "DashboardScreen"))
        assert dash.run_id == ids["run"]
        await pilot.press("escape")
        await runs_screen(pilot)
        await pilot.press("e")
        errors = await wait_for(pilot, lambda: screen_named(app, "ErrorsScreen"))
        assert errors.run_id == ids["run"]


async def test_the_mouse_works_too(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await runs_screen(pilot)
        table = screen.query_one("#runs-table")
        await pilot.click("#runs-table", offset=(8, 3))  # the third row: run 1
        assert table.cursor_row == 2
        await pilot.click("#runs-table", offset=(8, 3))  # clicking the highlighted row opens it
        dash = await wait_for(pilot, lambda: screen_named(app, "DashboardScreen"))
        assert dash.run_id == ids["run"]


async def test_an_empty_store_shows_the_first_run_screen(empty_store):
    app = UndoApp(empty_store)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_for(pilot, lambda: screen_named(app, "FirstRunScreen"))
        text = str(screen.query_one("#welcome").render())
        assert "This store is empty" in text and str(empty_store) in text
        assert "import" in text and "sample_runs/demo.db" in text and "undo-tui demo" in text
        # data arriving from another process turns it into the runs list
        db = store.open_store(empty_store)
        store.get_or_create_dataset(db, "d", "number")
        db.close()
        await pilot.press("ctrl+r")
        await runs_screen(pilot)


async def test_open_sample_from_the_first_run_screen(empty_store, tui_store, monkeypatch):
    from undo_tui.screens import first_run

    sample, _ = tui_store
    monkeypatch.setattr(first_run, "sample_store_path", lambda: sample)
    app = UndoApp(empty_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: screen_named(app, "FirstRunScreen"))
        await pilot.press("o")
        screen = await runs_screen(pilot)
        assert app.store.path == sample.resolve()
        assert screen.query_one("#runs-table").row_count == 3


async def test_worker_errors_become_notifications_not_crashes(tui_store, monkeypatch):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await runs_screen(pilot)

        def broken(db, run_id):
            raise store.UndoError("database disk image is malformed (simulated)")

        monkeypatch.setattr(store, "get_run", broken)
        await pilot.press("G", "enter")
        await wait_for(pilot, lambda: any("malformed" in n.message for n in app._notifications),
                       what="notification")
        assert app.is_running and screen_named(app, "DashboardScreen")


async def test_a_store_that_cannot_be_opened_is_reported(tmp_path):
    bad = tmp_path / "not-a-store.db"
    bad.write_text("this is not sqlite")
    app = UndoApp(bad)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.open_error, what="open error")
        assert "not a database" in app.open_error
        assert app.is_running


def test_driving_the_app_loads_no_model_or_engine_code(tui_store):
    """In a fresh interpreter: open every screen, then check sys.modules."""
    path, ids = tui_store
    code = f"""
import asyncio, sys, time
from undo_tui.app import UndoApp

async def until(pilot, name):
    deadline = time.monotonic() + 30
    while type(pilot.app.screen).__name__ != name:
        assert time.monotonic() < deadline, name
        await pilot.pause(0.05)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.05)

async def main():
    app = UndoApp({str(path)!r})
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, "RunsScreen")
        for keys, name in ((["G", "enter"], "DashboardScreen"), (["e"], "ErrorsScreen"),
                           (["enter"], "ExampleDetailScreen"), (["x"], "ExampleDetailScreen"),
                           (["escape", "escape", "x"], "ExportDialog"),
                           (["escape", "question_mark"], "HelpScreen")):
            await pilot.press(*keys)
            await until(pilot, name)
        print("screens-ok", type(app.screen).__name__)
asyncio.run(main())
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r}
               or m.startswith({ENGINE_MACHINERY!r}))
print("heavy", heavy)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).parents[1],
                         env={**subprocess.os.environ, "UNDO_TUI_CONFIG": "/nonexistent"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "screens-ok HelpScreen" in out.stdout, out.stdout
    assert "heavy []" in out.stdout, out.stdout


def test_the_tui_command_opens_path_or_store_and_rejects_a_missing_one(tmp_path, monkeypatch):
    from undo_tui import cli
    from undo_tui.commands import tui

    parser = cli.build_parser()
    args = parser.parse_args(cli._with_default_command([str(tmp_path / "x.db")]))
    assert args.command == "tui" and args.path == tmp_path / "x.db"
    for argv in (["--run", "3", "x.db"], ["x.db", "--run", "3"], ["--poll", "2", "--run=3", "x.db"],
                 ["--store", "s.db", "--run", "3", "x.db"], ["--store=s.db", "x.db", "--run", "3"]):
        parsed = parser.parse_args(cli._with_default_command(argv))
        assert (parsed.command, parsed.path, parsed.open_run) == ("tui", Path("x.db"), "3"), argv
    assert parser.parse_args(cli._with_default_command(["--store", "s.db", "status"])).command \
        == "status"
    args.store = None
    with pytest.raises(store.UndoError, match="no such store"):
        tui.resolve_store(args)
    args = parser.parse_args(["--store", str(tmp_path / "y.db"), "tui"])
    with pytest.raises(store.UndoError, match="no such store"):
        tui.resolve_store(args)
    monkeypatch.setenv("UNDO_TUI_STORE", str(tmp_path / "default.db"))
    args = parser.parse_args(cli._with_default_command([]))
    args.store, args.store_given = store.paths.default_store_path(), False  # as main() does
    assert tui.resolve_store(args) == tmp_path / "default.db"  # the default may be created
    bad = tmp_path / "bad.db"
    bad.write_text("not sqlite")
    with pytest.raises(store.UndoError, match="not an undo-tui store"):
        tui.check_store(bad)
    proc = subprocess.run([sys.executable, "-m", "undo_tui.cli", str(tmp_path / "nope.db")],
                          capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[1])
    assert proc.returncode == 2 and "no such store" in proc.stderr


def test_the_undo_tui_command_loads_no_model_or_training_code(tui_store):
    """`undo-tui STORE` through the real CLI entry (the app run headless) in a fresh interpreter."""
    path, _ = tui_store
    code = f"""
import asyncio, sys
from undo_tui.app import UndoApp

def headless_run(self, *args, **kwargs):
    async def drive():
        async with self.run_test(size=(120, 40)) as pilot:
            while type(self.screen).__name__ != "RunsScreen" or not self.screen.data:
                await pilot.pause(0.05)
            await pilot.press("G", "e")
            while type(self.screen).__name__ != "ErrorsScreen" or not self.screen.browser.rows:
                await pilot.pause(0.05)
    asyncio.run(drive())

UndoApp.run = headless_run
from undo_tui import cli
code = cli.main([{str(path)!r}])
training = ("engine.student", "engine.teachers", "engine.loop", "engine.generation")
bad = sorted(m for m in sys.modules if m.split(".")[0] in
             ("torch", "transformers", "llama_cpp", "peft", "datasets") or m.startswith(training))
print("exit", code, "bad", bad)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).parents[1],
                         env={**subprocess.os.environ, "UNDO_TUI_CONFIG": "/nonexistent"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "exit 0 bad []" in out.stdout, out.stdout


async def test_a_narrow_terminal_keeps_the_iterations_best_val_and_progress(tui_store):
    """At 80 columns the least telling columns go (dataset, then student), names and models are
    cut in the middle, and the table grows back when the terminal does."""
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await runs_screen(pilot)
        table = screen.query_one("#runs-table")
        labels = [str(column.label) for column in table.columns.values()]
        assert labels[:3] == ["#", "name", "status"]
        assert labels[-3:] == ["iters", "best val", "progress"] and "dataset" not in labels
        assert table.virtual_size.width <= table.size.width  # nothing off-screen
        undo = cells(table, 2)
        assert undo[labels.index("best val")] == "62.5% [30.6–86.3]"
        teacher = undo[labels.index("teacher")] if "teacher" in labels else None
        if teacher is not None and teacher != "llamacpp:smollm2-135m":
            assert "…" in teacher and teacher.endswith("135m")  # cut in the middle
        await pilot.resize_terminal(160, 48)
        await wait_for(pilot, lambda: "dataset" in [str(c.label) for c in
                                                     table.columns.values()], what="refit")
        assert cells(table, 2)[5] == "arith-fixture"

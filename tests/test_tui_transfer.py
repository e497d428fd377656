"""Starting a transfer from the dashboard: `t`, fill the dialog, ctrl+s; the new student trains in
a detached engine process (the real CLI and stage processes, the tiny random Llama as student)
and the TUI follows it on the new run's dashboard until it has finished.
"""

from __future__ import annotations

import pytest

import store
from tests.fixtures.tui_fixtures import screen_named, wait_for, wait_notified
from tests.transfer_helpers import build_source_store
from undo_tui.app import UndoApp
from undo_tui.screens.transfer_dialog import TransferRequest, check_request

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tui_env")]


async def open_transfer_dialog(app, pilot, run_id):
    await wait_for(pilot, lambda: screen_named(app, "RunsScreen") and app.screen.data)
    app.open_dashboard(run_id)
    dash = await wait_for(pilot, lambda: screen_named(app, "DashboardScreen"))
    await wait_for(pilot, lambda: dash.data is not None, what="dashboard data")
    await pilot.press("t")
    dialog = await wait_for(pilot, lambda: screen_named(app, "TransferDialog"))
    return dash, dialog


def error_text(dialog) -> str:
    return str(dialog.query_one("#transfer-error").render())


def test_values_that_look_like_options_reach_the_cli_as_values(tmp_path):
    from undo_tui import engine_control
    from undo_tui.cli import build_parser

    argv = engine_control.transfer_create_command(tmp_path / "s.db", 1, "best", "-odd",
                                                  name="--x")
    args = build_parser().parse_args(argv[3:])
    assert (args.student, args.name, args.create_only) == ("-odd", "--x", True)


def test_the_form_is_checked_before_any_process_starts(tmp_path):
    assert "Name the new student" in check_request(TransferRequest("best", "  "))
    assert "no such file" in check_request(TransferRequest("best", str(tmp_path / "nope")))
    assert "no such file" in check_request(TransferRequest("2", "missing.gguf"))
    assert "epochs" in check_request(TransferRequest("best", "smollm2", epochs=0))
    assert check_request(TransferRequest("best", "smollm2")) is None
    assert check_request(TransferRequest("1", str(tmp_path))) is None  # exists: the CLI decides


async def test_a_wrong_student_is_reported_in_the_dialog_and_nothing_is_recorded(tmp_path):
    path = tmp_path / "store.db"
    ids = build_source_store(path)
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        _, dialog = await open_transfer_dialog(app, pilot, ids["run"])
        await pilot.press(*"/nonexistent/student", "enter")
        assert "no such file" in error_text(dialog)
        dialog.query_one("#transfer-student").value = "smollm2"
        dialog.query_one("#transfer-epochs").value = "-"  # half-typed: an error, not a crash
        await pilot.press("ctrl+s")
        assert "epochs" in error_text(dialog) and app.screen is dialog
        dialog.query_one("#transfer-epochs").value = ""
        dialog.query_one("#transfer-student").value = str(not_a_model)
        await pilot.press("ctrl+s")
        # the real `undo-tui transfer --create-only` refuses it; its message shows in place
        await wait_for(pilot, lambda: not dialog.creating and "not-a-model" in error_text(dialog),
                       timeout=120, what="the CLI's error in the dialog")
        assert app.screen is dialog
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_named(app, "DashboardScreen"))
    db = store.open_store(path)
    try:
        assert [s.run.kind for s in store.list_runs(db)] == ["undo"]
    finally:
        db.close()


async def test_t_starts_a_transfer_that_trains_in_the_background(tmp_path, tiny_llama_dir):
    path = tmp_path / "store.db"
    ids = build_source_store(path)
    app = UndoApp(path, poll_interval=0.3)
    async with app.run_test(size=(120, 40)) as pilot:
        dash, dialog = await open_transfer_dialog(app, pilot, ids["run"])
        choices = [value for _, value in dialog.query_one("#transfer-iteration")._options]
        assert choices == ["best", "1", "2"]
        dialog.query_one("#transfer-student").value = str(tiny_llama_dir)
        dialog.query_one("#transfer-epochs").value = "1"
        dialog.query_one("#transfer-name").value = "to-tiny"
        await pilot.press("ctrl+s")
        new = await wait_for(pilot, lambda: (s := screen_named(app, "DashboardScreen")) and
                             s is not dash and s, timeout=180, what="the transfer's dashboard")
        await wait_notified(pilot, "is training in the background")
        await wait_for(pilot, lambda: new.data is not None and
                       new.data.run.status in ("finished", "failed"), timeout=600,
                       what="the transfer run to finish")
        run = new.data.run
        assert (run.status, run.kind, run.name, run.source_run_id) == \
            ("finished", "transfer", "to-tiny", ids["run"]), run.error
        assert [it.k for it in new.data.iterations] == [0, 1]
        assert all(it.val_accuracy is not None for it in new.data.iterations)
        assert new.data.transfer is not None and new.data.transfer.data_iteration == 2  # best
        table = new.query_one("#iterations")
        assert str(table.get_row("1")[3]) == "—"  # no teacher in a transfer

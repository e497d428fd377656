"""Export dialog: drives `undo-tui export` in a worker; disabled with a message without an exporter."""

from __future__ import annotations

import json
import sys

import pytest

import store
from tests.fixtures.tui_fixtures import screen_named, wait_for, wait_notified
from undo_tui.app import UndoApp
from undo_tui.screens import export as export_screen

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tui_env")]


def test_the_command_line_the_dialog_runs(tmp_path):
    argv = export_screen.export_command(
        "python", tmp_path / "s.db", 3, "parquet", "/out/x.parquet", "2", correct_only=True,
        prefer_human=False, tags=["a"], exclude_tags=["bad"])
    assert argv == ["python", "-m", "undo_tui.cli", "--store", str(tmp_path / "s.db"), "export",
                    "3", "--format", "parquet", "--out", "/out/x.parquet", "--iteration", "2",
                    "--correct-only", "--no-prefer-human", "--tag", "a", "--exclude-tag", "bad"]


async def open_export(app, pilot, run_index_key="G"):
    await wait_for(pilot, lambda: screen_named(app, "RunsScreen") and app.screen.data)
    await pilot.press(run_index_key, "x")
    return await wait_for(pilot, lambda: screen_named(app, "ExportDialog"))


async def test_export_runs_the_exporter_and_reports(tui_store, tmp_path):
    path, ids = tui_store
    out = tmp_path / "refined.jsonl"
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await open_export(app, pilot)
        assert dialog.available and dialog.run_id == ids["run"]
        default = dialog.query_one("#export-out").value
        assert default.endswith(f"exports/run-{ids['run']}-best-trl-messages.jsonl")
        dialog.query_one("#export-out").value = str(out)
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: dialog.finished, timeout=120, what="export finished")
        report = str(dialog.query_one("#export-output").render())
        assert "12 rows" in report, report
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 12 and rows[0]["run_id"] == ids["run"]
    db = store.open_store(path)
    try:
        assert [e.path for e in store.list_exports(db, ids["run"])] == [str(out)]
    finally:
        db.close()


async def test_a_failed_export_is_shown_not_raised(tui_store, tmp_path):
    path, ids = tui_store
    app = UndoApp(path, engine_python=sys.executable)
    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await open_export(app, pilot)
        dialog.query_one("#export-iteration").value = "9"  # no such iteration
        dialog.query_one("#export-out").value = str(tmp_path / "x.jsonl")
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: dialog.finished, timeout=120, what="export finished")
        await wait_notified(pilot, "Export failed")
        assert "has no iteration 9" in str(dialog.query_one("#export-output").render())
        assert app.screen is dialog
        await pilot.press("escape")
        assert screen_named(app, "RunsScreen")


async def test_without_an_exporter_the_dialog_is_disabled(tui_store, monkeypatch):
    monkeypatch.setattr(export_screen, "exporter_available", lambda: False)
    path, _ = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        dialog = await open_export(app, pilot)
        assert "not available" in str(dialog.query_one("#export-disabled").render())
        assert dialog.query_one("#export-go").disabled
        await pilot.press("ctrl+e")
        await wait_notified(pilot, "disabled")


@pytest.mark.parametrize("size", [(160, 48), (120, 40), (80, 24)])
async def test_every_checkbox_label_fits_in_the_dialog(tui_store, size):
    """Four checkboxes in one row clipped the last ("replace existin"); a small terminal scrolls
    the form rather than cutting off its checkboxes and buttons."""
    path, _ = tui_store
    app = UndoApp(path)
    async with app.run_test(size=size) as pilot:
        dialog = await open_export(app, pilot)
        await pilot.pause()
        form = dialog.query_one(".dialog")
        for checkbox in dialog.query("Checkbox"):
            checkbox.scroll_visible(animate=False)
            await pilot.pause()
            label = str(checkbox.label)
            assert form.content_region.contains_region(checkbox.region), (label, size)
            assert checkbox.content_region.width >= len(label) + 4, (label, size)  # ▐X▌ label
        go = dialog.query_one("#export-go")
        go.scroll_visible(animate=False)
        await pilot.pause()
        assert form.content_region.contains_region(go.region)

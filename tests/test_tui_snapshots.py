"""Snapshots of the key screens (Textual 8.2.8 pinned in pyproject; 120x40; deterministic data).

Update after an intended visual change with `pytest tests/test_tui_snapshots.py --snapshot-update`
and look at the SVGs (snapshot_report.html shows the differences when one fails).
"""

from __future__ import annotations

import pytest

from tests.fixtures.tui_fixtures import screen_named, settle, wait_for
from undo_tui.app import UndoApp

pytestmark = pytest.mark.usefixtures("tui_env")
SIZE = (120, 40)


async def ready(pilot, screen_name: str, loaded) -> None:
    await wait_for(pilot, lambda: (s := screen_named(pilot.app, screen_name)) and loaded(s),
                   what=screen_name)
    await settle(pilot)
    await pilot.pause(0.1)


def test_runs_screen(snap_compare, tui_store):
    path, _ = tui_store

    async def run_before(pilot):
        await ready(pilot, "RunsScreen", lambda s: s.data)

    assert snap_compare(UndoApp(path), terminal_size=SIZE, run_before=run_before)


def test_dashboard_of_a_finished_run(snap_compare, tui_store):
    path, ids = tui_store

    async def run_before(pilot):
        await ready(pilot, "RunsScreen", lambda s: s.data)
        pilot.app.open_dashboard(ids["run"])
        await ready(pilot, "DashboardScreen", lambda s: s.data)

    assert snap_compare(UndoApp(path), terminal_size=SIZE, run_before=run_before)


def test_dashboard_of_a_running_run(snap_compare, tui_store):
    path, ids = tui_store

    async def run_before(pilot):
        await ready(pilot, "RunsScreen", lambda s: s.data)
        pilot.app.open_dashboard(ids["live"])
        await ready(pilot, "DashboardScreen", lambda s: s.data)

    assert snap_compare(UndoApp(path), terminal_size=SIZE, run_before=run_before)


def test_errors_browser_fixed_on_train(snap_compare, tui_store):
    path, ids = tui_store

    async def run_before(pilot):
        await ready(pilot, "RunsScreen", lambda s: s.data)
        pilot.app.open_errors(ids["run"], split="train", status="fixed")
        await ready(pilot, "ErrorsScreen", lambda s: s.browser.rows and s.browser.total is not None)

    assert snap_compare(UndoApp(path), terminal_size=SIZE, run_before=run_before)


def test_example_detail_with_diff(snap_compare, tui_store):
    path, ids = tui_store

    async def run_before(pilot):
        await ready(pilot, "RunsScreen", lambda s: s.data)
        pilot.app.open_example(ids["run"], ids["train_ids"][3])
        await ready(pilot, "ExampleDetailScreen", lambda s: s.detail)

    assert snap_compare(UndoApp(path), terminal_size=SIZE, run_before=run_before)

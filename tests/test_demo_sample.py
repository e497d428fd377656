"""The recorded sample run shipped as sample_runs/demo.db: small, no machine paths, opens in
the TUI without changing the file.

Skipped when the file is absent (a packaged install has no sample_runs/).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import store
from engine.demo.scrub import absolute_paths_left
from tests.fixtures.tui_fixtures import screen_named, wait_for
from undo_tui.app import UndoApp
from undo_tui.commands.tui import resolve_store
from undo_tui.screens.first_run import sample_store_path

SAMPLE = sample_store_path()
pytestmark = pytest.mark.skipif(not SAMPLE.is_file(), reason=f"no sample run at {SAMPLE}")


@pytest.fixture
def sample_copy(tmp_path) -> Path:
    """Opening a store may write (WAL, a migration): never touch the shipped file itself."""
    target = tmp_path / "demo.db"
    shutil.copyfile(SAMPLE, target)
    return target


def test_sample_is_small_and_has_no_machine_paths_or_weights():
    assert SAMPLE.stat().st_size < 20_000_000
    assert absolute_paths_left(SAMPLE) == []
    tracked = subprocess.run(["git", "ls-files", "sample_runs"], cwd=SAMPLE.parents[1],
                             capture_output=True, text=True)
    if tracked.returncode == 0:  # in a git checkout: no checkpoints or logs are committed
        files = tracked.stdout.split()
        assert not [f for f in files if f.startswith(("sample_runs/runs/", "sample_runs/logs/"))
                    or f.endswith((".safetensors", ".bin", ".gguf", ".pt"))]


def test_opening_the_sample_does_not_change_it(sample_copy):
    before = sample_copy.read_bytes()
    db = store.open_store(sample_copy)
    store.list_runs(db)
    db.close()
    assert sample_copy.read_bytes() == before  # `make run` leaves the checkout clean


def test_sample_holds_a_finished_demo_run(sample_copy):
    db = store.open_store(sample_copy)
    try:
        runs = store.list_runs(db)
        assert [r.run.name for r in runs] == ["demo"]
        run = runs[0].run
        assert run.status == "finished" and run.best_iteration is not None
        iterations = store.list_iterations(db, run.id)
        assert [it.k for it in iterations] == [0, 1, 2]
        assert all(it.status == "done" and it.val_accuracy is not None for it in iterations)
        assert iterations[1].teacher_attempted and iterations[2].teacher_attempted
    finally:
        db.close()


def test_the_run_command_resolves_the_sample_path():
    args = type("Args", (), {"path": SAMPLE, "store": None})()
    assert resolve_store(args) == SAMPLE


@pytest.mark.anyio
async def test_the_tui_opens_the_sample_and_shows_the_run(sample_copy, tui_env):
    app = UndoApp(sample_copy)
    async with app.run_test(size=(120, 40)) as pilot:
        runs = await wait_for(pilot, lambda: (s := screen_named(app, "RunsScreen")) and s.data
                              and s, what="the runs list")
        assert [s.run.name for s in runs.data.runs] == ["demo"]
        app.open_dashboard(runs.data.runs[0].run.id)
        dash = await wait_for(pilot, lambda: (s := screen_named(app, "DashboardScreen"))
                              and s.data and s, what="the dashboard")
        assert dash.query_one("#iterations").row_count == 3
        note = str(dash.query_one("#quality-note").render())
        assert "Teacher yield" in note

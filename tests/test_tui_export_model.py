"""`m` on the run dashboard and a distillation's screen: the best student exported by a detached
`undo-tui export-model`, the TUI told where the files went by a typed message; a run with nothing
trained, or still training, is refused."""

from __future__ import annotations

import re

import pytest

import store
from tests.fixtures.exported_run import record_run, run_config
from tests.fixtures.tui_fixtures import open_dashboard, wait_notified
from tests.test_tui_distill import running_distill  # noqa: F401 (a fixture)
from undo_tui.app import UndoApp

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tui_env")]


async def test_m_exports_the_best_student_and_says_where(trained_run, llama_converter):
    app = UndoApp(trained_run.store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, trained_run.run_id)
        await pilot.press("m")
        out = trained_run.store_path.parent / "models" / f"run-{trained_run.run_id}-best"
        await wait_notified(pilot, f"Exporting iteration 1's student to {out}")
        await pilot.press("m")  # a second press while it runs starts nothing
        await wait_notified(pilot, "already running")
        done = await wait_notified(pilot, f"Model written to {out}", timeout=600)
        assert done.title == "Model exported"
        assert not dash.exporting_model
    assert (out / "exported-f16.gguf").is_file() and (out / "exported-q8_0.Modelfile").is_file()
    assert re.search(r"f16: (\d+)/\1 greedy outputs identical", (out / "README.md").read_text())
    assert (out / "hf" / "config.json").is_file()


async def test_m_on_a_run_without_a_trained_iteration_is_refused(trained_run):
    db = store.open_store(trained_run.store_path)
    try:
        run_id = record_run(db, run_config(trained_run.student_dir, name="not-yet"))
    finally:
        db.close()
    app = UndoApp(trained_run.store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        dash = await open_dashboard(app, pilot, run_id)
        await pilot.press("m")
        await wait_notified(pilot, "No best iteration yet")
        assert not dash.exporting_model
    assert not (trained_run.store_path.parent / "models" / f"run-{run_id}-best").exists()


async def test_a_failed_export_is_reported_with_the_cli_s_reason(trained_run, monkeypatch,
                                                                 tmp_path):
    monkeypatch.setenv("UNDO_TUI_LLAMA_CONVERTER", str(tmp_path / "no-converter"))
    app = UndoApp(trained_run.store_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_dashboard(app, pilot, trained_run.run_id)
        await pilot.press("m")
        failed = await wait_notified(pilot, "llama.cpp's GGUF converter is not in", timeout=120)
        assert failed.title == "Model not exported" and "UNDO_TUI_LLAMA_CONVERTER" in failed.message


async def test_m_on_a_distillation_exports_its_student_once_it_has_finished(
        running_distill, tiny_llama_dir, llama_converter):  # noqa: F811 (the fixture above)
    """The distillation screen's `m`: refused while the run trains, then the finished run's
    student (a whole model directory, no adapter) exported as HF and GGUF."""
    from tests.fixtures.tui_fixtures import wait_for
    from tests.test_tui_distill import finish
    from tests.test_tui_sweep import open_from_runs

    path, run = running_distill
    app = UndoApp(path)
    async with app.run_test(size=(130, 44)) as pilot:
        screen = await open_from_runs(pilot, "DistillScreen")
        await pilot.press("m")
        await wait_notified(pilot, f"Run {run} is running: its student can be exported once")
        assert not screen.exporting_model
        finish(path, run, student=tiny_llama_dir)
        await wait_for(pilot, lambda: screen.data.status == "finished", what="the finished run")
        await pilot.press("m")
        out = path.parent / "models" / f"run-{run}-best"
        await wait_notified(pilot, f"Exporting the student to {out}")
        done = await wait_notified(pilot, f"Model written to {out}", timeout=600)
        assert done.title == "Model exported" and not screen.exporting_model
    assert (out / "hf" / "config.json").is_file() and (out / "tiny-kd-f16.gguf").is_file()
    assert re.search(r"f16: (\d+)/\1 greedy outputs identical", (out / "README.md").read_text())

"""The distillation screen: reached with enter from the runs screen, it follows a running
distillation (stage and ETA, loss and held-out KL against the step) and shows the final figures:
strict accuracy with n and interval, KL before -> after."""

from __future__ import annotations

from pathlib import Path

import pytest

import store
from store import distill as store_distill
from tests.fixtures.tui_fixtures import screen_named, wait_for
from tests.test_tui_sweep import open_from_runs
from undo_tui.app import UndoApp

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tui_env")]

KL = {"before": (0, 0.5), "periodic": (4, 0.3), "final": (8, 0.2)}


def add_steps(db, run_id: int, steps: range) -> None:
    for step in steps:
        store.add_event(db, run_id, "progress", stage="train", done=step, total=8,
                        data={"step": step, "total_steps": 8, "loss": 1.0 / step,
                              "kl": 1.0 / step, "eta_s": 60.0 * (8 - step)})


def add_kl(db, run_id: int, when: str) -> None:
    step, mean = KL[when]
    store_distill.add_kl(db, run_id, step, when, {"mean": mean, "low": mean - 0.05,
                                                  "high": mean + 0.05, "n": 3, "tokens": 60})


@pytest.fixture
def running_distill(tmp_path):
    """A kd distillation half-way through training: four steps, KL before and at step 4."""
    path = tmp_path / "store.db"
    db = store.open_store(path)
    dataset = store.get_or_create_dataset(db, "arith", "number", "fixture")
    run = store.create_run(db, "tiny-kd", {"training": {"objective": "kd"}}, kind="distill",
                           dataset_id=dataset, teacher="smollm2", student="small")
    store.update_run(db, run, status="running", stage="train")
    add_kl(db, run, "before")
    add_steps(db, run, range(1, 5))
    add_kl(db, run, "periodic")
    db.close()
    return path, run


def finish(path, run: int, student: Path | str = "runs/run-1/student") -> None:
    """What the engine stores at the end: the rest of training, the final KL, the result."""
    db = store.open_store(path)
    add_steps(db, run, range(5, 9))
    add_kl(db, run, "final")
    store_distill.set_student(db, run, str(student))
    store_distill.save_outcome(db, run, {"steps": 8, "final_loss": 0.125, "eval_split": "test",
                                         "n": 40, "correct": 10, "accuracy_low": 0.142,
                                         "accuracy_high": 0.401, "kl_before": 0.5,
                                         "kl_after": 0.2}, {})
    store.update_run(db, run, status="finished", stage=None, stop_reason="distilled")
    db.close()


async def test_the_distill_screen_follows_training_and_shows_the_final_figures(running_distill):
    path, run = running_distill
    app = UndoApp(path)
    async with app.run_test(size=(130, 44)) as pilot:
        screen = await open_from_runs(pilot, "DistillScreen")
        title = str(screen.query_one("#distill-title").render())
        assert "tiny-kd" in title and "kd" in title
        assert "train: 4/8 · step loss 0.250 · ETA 4:00" in title
        canvas = screen.query_one("#distill-plot").plt.build()
        assert "loss" in canvas and "KL" in canvas
        figures = str(screen.query_one("#distill-figures").render())
        assert "latest step: 4/8 · loss 0.2500 · kl 0.2500" in figures
        assert "step 4 (periodic): 0.300 [0.250-0.350] n=3" in figures
        assert "strict accuracy" not in figures  # not evaluated yet
        finish(path, run)  # the screen polls while the run is active
        figures = await wait_for(pilot, lambda: "strict accuracy" in (
            text := str(screen.query_one("#distill-figures").render())) and text,
            what="the final figures")
        assert "strict accuracy: 25.0% [14.2-40.1] n=40 (test)" in figures
        assert "KL(teacher||student) 0.500 -> 0.200 nats/token" in figures
        assert "latest step: 8/8" in figures and "runs/run-1/student" in figures
        assert [s["step"] for s in screen.data.steps] == list(range(1, 9))
        assert [p.when for p in screen.data.kl] == ["before", "periodic", "final"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_named(pilot.app, "RunsScreen") is pilot.app.screen,
                       what="back on the runs screen")

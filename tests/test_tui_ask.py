"""The ask-training screen: reached with enter from the runs screen, it follows a running ask
training (stage and ETA, the loss of both stages, λ and usage per level against the PCL step)
and, once finished, says where the asker is."""

from __future__ import annotations

import pytest

import store
from store import ask as store_ask
from tests.fixtures.tui_fixtures import screen_named, wait_for, wait_notified
from tests.test_tui_sweep import open_from_runs
from undo_tui.app import UndoApp

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tui_env")]

CONFIG = {"ask": {"levels": [0.0, 0.2]}, "pcl": {"steps": 6}}


def add_warm(db, run_id: int) -> None:
    for step in range(1, 5):
        store.add_event(db, run_id, "progress", stage=store_ask.WARM_STAGE, done=step, total=4,
                        data={"step": step, "total_steps": 4, "loss": 4.0 / step})


def add_pcl(db, run_id: int, steps: range) -> None:
    for step in steps:
        store.add_event(db, run_id, "progress", stage=store_ask.PCL_STAGE, done=step, total=6,
                        data={"step": step, "total_steps": 6, "loss": 2.0 / step,
                              "residual_ms": 1.0 / step, "ce": 0.5, "tokens": 24.0,
                              "eta_s": 30.0 * (6 - step), "lambda_0": 0.1 * step,
                              "usage_0": 0.05, "lambda_20": 0.02 * step, "usage_20": 0.25})


@pytest.fixture
def running_ask(tmp_path):
    """An ask training three steps into its PCL stage."""
    path = tmp_path / "store.db"
    db = store.open_store(path)
    dataset = store.get_or_create_dataset(db, "arith", "number", "fixture")
    run = store.create_run(db, "tiny-ask", CONFIG, kind="ask", dataset_id=dataset,
                           teacher="smollm2", student="small")
    store.update_run(db, run, status="running", stage="pcl")
    add_warm(db, run)
    add_pcl(db, run, range(1, 4))
    db.close()
    return path, run


def finish(path, run: int) -> None:
    """What the engine stores at the end: the rest of the PCL steps, the asker, the outcome."""
    db = store.open_store(path)
    add_pcl(db, run, range(4, 7))
    store_ask.set_asker(db, run, "runs/run-1/asker", "/models/asker")
    store_ask.save_outcome(db, run, {"warm_steps": 4, "warm_loss": 1.0, "pcl_steps": 6,
                                     "final_loss": 2.0 / 6},
                           {"final": {"lambda_0": 0.6, "usage_0": 0.05, "lambda_20": 0.12,
                                      "usage_20": 0.25}})
    store.update_run(db, run, status="finished", stage=None, stop_reason="taught")
    db.close()


async def test_the_ask_screen_follows_training_and_says_where_the_asker_is(running_ask):
    path, run = running_ask
    app = UndoApp(path)
    async with app.run_test(size=(130, 50)) as pilot:
        screen = await open_from_runs(pilot, "AskScreen")
        title = str(screen.query_one("#ask-title").render())
        assert "tiny-ask" in title and "asks at 0%, 20% · 6 PCL steps" in title
        assert "pcl: 3/6 · step loss 0.667 · ETA 1:30" in title
        loss = screen.query_one("#ask-loss").plt.build()
        assert "warm start" in loss and "PCL" in loss
        levels = screen.query_one("#ask-levels").plt.build()
        assert "λ 20%" in levels and "used 20%" in levels
        figures = str(screen.query_one("#ask-figures").render())
        assert "warm start: 4/4 · loss 1.0000" in figures
        assert "PCL: 3/6 · loss 0.6667 · residual 0.3333 · 0% λ 0.30 used 5.0% · 20% λ 0.06 " \
               "used 25.0%" in figures
        assert "asker" not in figures  # not written yet
        await pilot.press("m")
        await wait_notified(pilot, f"Run {run} is running: its student can be exported once")
        finish(path, run)  # the screen polls while the run is active
        figures = await wait_for(pilot, lambda: "asker" in (
            text := str(screen.query_one("#ask-figures").render())) and text,
            what="the finished figures")
        assert "asker: runs/run-1/asker (copied to /models/asker)" in figures
        assert "at the end: 0% λ 0.60 used 5.0% · 20% λ 0.12 used 25.0%" in figures
        assert "PCL: 6/6" in figures
        assert [s["step"] for s in screen.data.pcl] == list(range(1, 7))
        await pilot.press("m")  # the recorded asker directory is not on disk: the CLI says so
        failed = await wait_notified(pilot, "has no complete model directory yet", timeout=120)
        assert failed.title == "Model not exported" and not screen.exporting_model
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_named(pilot.app, "RunsScreen") is pilot.app.screen,
                       what="back on the runs screen")

"""The Training Wheels sweep screen: reachable from the runs screen, plot and points table, the
outputs with the teacher's tokens highlighted, one example across policies."""

from __future__ import annotations

import pytest

import store
from store import wheels as store_wheels
from tests.fixtures.tui_fixtures import screen_named, wait_for
from undo_tui.app import UndoApp
from undo_tui.widgets.owned_text import TEACHER_STYLE

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tui_env")]

POINTS = [("student", 0), ("teacher", 100), ("speculative", 100), ("random", 10),
          ("threshold", 10), ("random", 30), ("threshold", 30), ("disagree", 30)]
# per point: (correct of 4, teacher tokens per output)
RESULTS = {"student": (1, 0), "teacher": (2, 4), "speculative": (2, 4), "random": (1, 1),
           "threshold": (3, 1), "disagree": (2, 2)}


@pytest.fixture
def sweep_store(tmp_path):
    """A finished sweep with every point stored (through the store API), and one pending."""
    path = tmp_path / "store.db"
    db = store.open_store(path)
    dataset = store.get_or_create_dataset(db, "arith", "number", "fixture")
    store.add_examples(db, dataset, [dict(ext_id=f"e{i}", split="test", answer=str(i + 5),
                                          question=f"What is {i} + 5?") for i in range(4)])
    examples = store.load_examples(db, dataset, "test")
    run = store.create_run(db, "wheels-arith", {}, kind="wheels", dataset_id=dataset,
                           teacher="smollm2", student="small")
    store.update_run(db, run, status="finished", stop_reason="8 points measured")
    store_wheels.plan_points(db, run, POINTS + [("disagree", 50)], student="small")
    store_wheels.set_distill(db, run, "small-distilled", {"data": "kept+gold", "kept": 21, "gold": 150})
    for point in store_wheels.list_points(db, run)[:len(POINTS)]:
        correct, asks = RESULTS[point.policy]
        outputs = [_output(example, i < correct, asks) for i, example in enumerate(examples)]
        tokens = sum(o.new_tokens for o in outputs)
        store_wheels.save_point(db, point.id, {
            "metric": "accuracy", "n": 4, "correct": correct, "quality": correct / 4,
            "quality_low": 0.05, "quality_high": 0.9, "tokens": tokens,
            "teacher_written": 4 * asks, "teacher_tokens": 40, "teacher_calls": 4 * asks,
            "teacher_forwards": 3 if point.policy == "speculative" else 0, "wall_s": 2.0,
            "violations": 0}, outputs)
    db.close()
    return path, run, examples


def _output(example, correct: bool, asks: int) -> store_wheels.NewOutput:
    answer = example.answer if correct else "0"
    pieces = ["The", " sum", " is", f" {answer}", ".", "\nAnswer", ":", f" {answer}", ""]
    owners = "t" * asks + "s" * (len(pieces) - asks)
    return store_wheels.NewOutput(example.id, "".join(pieces), pieces, owners, answer,
                                  1.0 if correct else 0.0, len(pieces), asks, 10, True)


async def runs_screen(pilot):
    runs = await wait_for(pilot, lambda: (s := screen_named(pilot.app, "RunsScreen")) and s.data
                          and s, what="runs loaded")
    runs.query_one("#runs-table").focus()
    return runs


async def open_from_runs(pilot, screen: str):
    """Enter on the selected run of the runs screen; the screen `screen` once it has its data."""
    await runs_screen(pilot)
    await pilot.press("enter")
    return await wait_for(pilot, lambda: (s := screen_named(pilot.app, screen)) and s.data and s,
                          what=f"the {screen}")


async def open_sweep(pilot, key: str):
    await runs_screen(pilot)
    await pilot.press(key)
    return await wait_for(pilot, lambda: (s := screen_named(pilot.app, "SweepScreen")) and
                          s.data and s, what="the sweep screen")


async def test_the_sweep_screen_plots_every_policy_and_lists_its_points(sweep_store):
    path, run, _ = sweep_store
    app = UndoApp(path)
    async with app.run_test(size=(140, 48)) as pilot:
        screen = await open_sweep(pilot, "w")
        table = screen.query_one("#sweep-points")
        assert table.row_count == 9
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        threshold = rows[4]
        assert threshold[:3] == ["threshold 10%", "10%", "11.1%"]  # 4 of 36 tokens
        assert threshold[3] == "75.0% [5.0-90.0] n=4"
        assert rows[2][2] == "8.3% passes"  # speculative: 3 teacher passes per 36 tokens
        assert rows[-1][:3] == ["disagree 50%", "50%", "pending"]
        canvas = screen.query_one("#sweep-plot").plt.build()
        for policy in ("student", "teacher", "speculative", "random", "threshold", "disagree"):
            assert policy in canvas
        title = str(screen.query_one("#sweep-title").render())
        assert "distilled on kept+gold: 21 kept rationales, 150 gold solutions" in title
        assert "8/9 points" in title


async def test_enter_on_a_sweep_opens_it_and_its_outputs_show_the_teachers_tokens(sweep_store):
    path, run, examples = sweep_store
    app = UndoApp(path)
    async with app.run_test(size=(140, 48)) as pilot:
        screen = await open_sweep(pilot, "enter")
        table = screen.query_one("#sweep-points")
        table.move_cursor(row=6)  # threshold 30%
        await pilot.press("enter")
        outputs = await wait_for(pilot, lambda: (s := screen_named(pilot.app, "SweepOutputsScreen"))
                                 and s.example_id is not None and s, what="the outputs")
        text = await wait_for(pilot, lambda: (t := outputs.query_one("#outputs-text").content)
                              and "Answer" in str(t) and t, what="an output")
        highlighted = [str(text)[span.start:span.end] for span in text.spans
                       if str(span.style) == TEACHER_STYLE]
        assert highlighted == ["The"]  # the one token the teacher wrote
        assert "✓ answer 5" in str(text)
        await pilot.press("c")  # the same example under every policy at 30%, and the anchors
        await wait_for(pilot, lambda: len(outputs.query(".compare-column")) == 6,
                       what="six columns")
        labels = [str(c.query_one("Static").render()).split("\n")[0]
                  for c in outputs.query(".compare-column")]
        assert labels == ["threshold 30%", "student", "teacher", "speculative", "random 30%",
                          "disagree 30%"]
        await pilot.press("j")  # next example: the columns follow
        await wait_for(pilot, lambda: outputs.example_id == examples[1].id and
                       f"✓ answer {examples[1].answer}" in str(outputs.query(".compare-column")[0]
                                                              .query_one("Static").content),
                       what="the second example")
        student = str(outputs.query(".compare-column")[1].query_one("Static").content)
        assert student.startswith("student\n✗ answer 0")  # the student alone got it wrong


async def test_w_on_a_run_that_is_not_a_sweep_says_so(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await runs_screen(pilot)
        await pilot.press("w")
        await wait_for(pilot, lambda: any("is not a Training Wheels sweep" in str(n.message)
                                          for n in pilot.app._notifications), what="the warning")
        assert screen_named(pilot.app, "SweepScreen") is None


async def test_a_running_sweep_shows_its_progress_live(sweep_store):
    import os

    path, run, _ = sweep_store
    db = store.open_store(path)
    store.update_run(db, run, status="running", stage="wheels (disagree 50%)", pid=os.getpid(),
                     stop_reason=None)
    store.add_event(db, run, "progress", stage="wheels", done=34, total=36,
                    data={"point": "disagree 50%", "tokens_per_s": 120.0, "eta_s": 30})
    app = UndoApp(path, poll_interval=0.1)
    async with app.run_test(size=(140, 48)) as pilot:
        runs = await runs_screen(pilot)
        table = runs.query_one("#runs-table")
        assert str(table.get_row_at(0)[-1]) == "wheels 94%"
        await pilot.press("w")
        screen = await wait_for(pilot, lambda: (s := screen_named(pilot.app, "SweepScreen")) and
                                s.data and s, what="the sweep screen")
        title = str(screen.query_one("#sweep-title").render())
        assert "wheels (disagree 50%): 34/36 · 120 tok/s" in title
        # the engine finishes the point: the screen follows without a key press
        point = store_wheels.list_points(db, run)[-1]
        store_wheels.save_point(db, point.id, {"metric": "accuracy", "n": 0, "correct": 0,
                                               "quality": 0.0, "quality_low": 0.0,
                                               "quality_high": 1.0, "tokens": 0,
                                               "teacher_written": 0, "teacher_tokens": 0,
                                               "teacher_calls": 0, "teacher_forwards": 0,
                                               "wall_s": 1.0, "violations": 0}, [])
        await wait_for(pilot, lambda: "9/9 points" in str(screen.query_one("#sweep-title").render()),
                       what="the new point")
    db.close()

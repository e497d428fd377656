"""The UNDO loop end to end on CPU: the real llama.cpp teacher (packaged SmolLM2 GGUF) and a tiny
random Llama student with the SmolLM2 tokenizer, trained with real transformers + peft.

Also: kill -9 during each heavy stage, then `undo-tui resume`: no teacher call repeated, no row
lost or duplicated, and the same final metrics as the uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import store
from engine.tasks.arith import generate_problems
from tests.fixtures.loop_fixtures import GROUP as LOOP_GROUP
from undo_tui.cli import main

pytestmark = LOOP_GROUP  # one worker pays for the reference run (tests/fixtures/loop_fixtures.py)

ROOT = Path(__file__).resolve().parents[1]


def write_config(path: Path, student_dir: Path, **loop) -> Path:
    loop_lines = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in loop.items())
    path.write_text(f"""
[run]
name = "e2e"
seed = 0
[dataset]
name = "arith"
[teacher]
backend = "llamacpp"
model = "smollm2"
max_tokens = 80
n_ctx = 1024
[student]
model = "{student_dir}"
[training]
epochs = 2
batch_size = 4
lr = 5e-3
dtype = "float32"
max_length = 256
[evaluation]
max_new_tokens = 12
batch_size = 4
[loop]
max_iterations = 2
delta = 0.0
keep = "all"
{loop_lines}
""")
    return path


def build_store(path: Path, n_train: int = 6, n_val: int = 6) -> None:
    db = store.open_store(path)
    dataset_id = store.get_or_create_dataset(db, "arith", "number", "builtin:arith")
    problems = generate_problems(n_train + n_val, 1, seed=3)
    rows = []
    for i, p in enumerate(problems):
        row = dataclasses.asdict(p)
        row["split"] = "train" if i < n_train else "val"
        rows.append(row)
    store.add_examples(db, dataset_id, rows)
    db.close()


def snapshot(path: Path, run_id: int) -> dict:
    """Everything a resumed run must reproduce exactly."""
    db = store.open_store(path)
    try:
        iterations = {it.k: (it.status, it.val_accuracy, it.train_size, it.teacher_kept,
                             it.teacher_attempted) for it in store.list_iterations(db, run_id)}
        predictions = sorted(
            (r["iteration"], r["split"], r["example_id"], r["output"], r["correct"])
            for r in db.query("SELECT * FROM predictions WHERE run_id = ?", [run_id]))
        rationales = sorted(
            (r["iteration"], r["example_id"], r["source"], r["attempt"], r["text"], r["kept"])
            for r in db.query("SELECT * FROM rationales WHERE run_id = ?", [run_id]))
        run = store.get_run(db, run_id)
        return dict(iterations=iterations, predictions=predictions, rationales=rationales,
                    status=run.status, best=run.best_iteration,
                    cache=db.execute("SELECT count(*) FROM teacher_cache").fetchone()[0])
    finally:
        db.close()


@pytest.fixture
def reference(loop_reference):
    """One uninterrupted run (tests/fixtures/loop_fixtures.py), shared by the assertions below
    and the kill -9 comparisons."""
    return loop_reference


def test_loop_stores_the_whole_structure(reference):
    store_path, _, snap = reference
    db = store.open_store(store_path)
    run = store.get_run(db, 1)
    assert snap["status"] == "finished" and run.stop_reason
    assert set(snap["iterations"]) == {0, 1, 2}
    assert all(status == "done" for status, *_ in snap["iterations"].values())
    assert snap["best"] in (1, 2)
    initial = store.rationales_for_iteration(db, 1, 1)
    refined = store.rationales_for_iteration(db, 1, 2)
    assert {r.source for r in initial} == {"teacher_initial"} and len(initial) == 6
    assert {r.source for r in refined} == {"teacher_refined"} and len(refined) == 6
    by_id = {r.id: r for r in initial}
    assert all(r.parent_id in by_id and by_id[r.parent_id].example_id == r.example_id
               for r in refined)
    assert all(r.prompt_hash and r.cache_key and r.template for r in initial + refined)
    for k in (0, 1, 2):
        assert store.score(db, 1, k, "val").total == 6
    assert store.score(db, 1, 1, "train").total == 6  # fed to the refinement prompts
    iteration = store.get_iteration(db, 1, 2)
    assert iteration.train_size == 6 and iteration.checkpoint_path
    assert Path(iteration.checkpoint_path, "undo_train.json").is_file()
    assert "val_format" in iteration.metrics and "val_fixed" in iteration.metrics
    assert snap["cache"] == 12  # one paid call per question per iteration
    assert store.get_iteration(db, 1, 1).teacher_calls == 6
    db.close()


def test_each_iterations_figures_and_the_training_curves_reach_tensorboard(reference):
    """[tracking] left out: TensorBoard beside the store, the loop's figures at step k
    (the teacher's yield among them) and each iteration's training curve."""
    from tests.tracking_helpers import tensorboard_scalars

    store_path, _, _ = reference
    db = store.open_store(store_path)
    iterations = {it.k: it for it in store.list_iterations(db, 1)}
    db.close()
    runs = store_path.parent / "tracking" / "run-1"
    loop = {tag: dict(points) for tag, points in tensorboard_scalars(runs / "loop").items()}
    assert sorted(loop["val/strict_accuracy"]) == [0, 1, 2]
    for k in (1, 2):
        it = iterations[k]
        assert loop["teacher/attempted"][k] == it.teacher_attempted
        assert loop["teacher/yield"][k] == pytest.approx(it.teacher_kept / it.teacher_attempted)
        assert loop["teacher/calls"][k] == it.teacher_calls
        assert loop["val/strict_accuracy"][k] == pytest.approx(it.val_accuracy, abs=1e-7)
        curve = tensorboard_scalars(runs / f"iteration-{k}")["train/loss"]
        assert len(curve) == it.metrics["train_steps"]
        assert curve[-1][1] == pytest.approx(it.metrics["train_final_loss"], rel=1e-6)


TIMINGS = ("stage_seconds", "train_tokens_per_s")


def stored_figures(db, run_id: int) -> dict:
    """Every metric a run stores, timings aside, and every prediction's output and verdicts."""
    run = store.get_run(db, run_id)
    iterations = {}
    for it in store.list_iterations(db, run_id):
        metrics = {k: v for k, v in it.metrics.items() if k not in TIMINGS}
        iterations[it.k] = (it.val_accuracy, it.test_accuracy, it.train_loss, it.train_size,
                            it.teacher_kept, it.teacher_attempted, it.is_best, metrics)
    predictions = sorted(
        (r["iteration"], r["split"], r["example_id"], r["output"], r["correct"],
         r["flexible_correct"], r["has_answer_line"])
        for r in db.query("SELECT * FROM predictions WHERE run_id = ?", [run_id]))
    return dict(iterations=iterations, predictions=predictions, best=run.best_iteration,
                beats_base=run.best_beats_base, stop_reason=run.stop_reason)


def test_the_same_config_twice_gives_the_same_metrics_and_pays_no_teacher_call(reference):
    """Reproducibility: training and evaluation (bf16, the default) run again from scratch; the
    teacher's answers come from the cache (fresh-store runs below check the teacher itself)."""
    store_path, config, _ = reference
    assert main(["--store", str(store_path), "run", str(config)]) == 0
    db = store.open_store(store_path)
    second = max(r.run.id for r in store.list_runs(db))
    assert sum(it.teacher_calls for it in store.list_iterations(db, second)) == 0
    assert db.execute("SELECT count(*) FROM teacher_cache").fetchone()[0] == 12
    assert stored_figures(db, second) == stored_figures(db, 1)
    db.close()


def _wait_for(predicate, timeout: float, what: str):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


STAGE_REACHED = {
    # teacher: a few iteration-2 rationales stored, not all
    "teacher": "SELECT count(*) FROM rationales WHERE iteration = 2",
    "train": "SELECT count(*) FROM events WHERE kind = 'progress' AND stage = 'train' AND iteration = 2",
    "evaluate": "SELECT count(*) FROM predictions WHERE iteration = 2",
}


def test_kill_9_in_each_stage_then_resume_matches_the_uninterrupted_run(reference, tmp_path,
                                                                       tiny_llama_dir):
    """One run killed with SIGKILL in iteration 2's teacher stage, resumed, killed again in its
    train stage, resumed, killed in its evaluate stage, and resumed to the end: each resume
    starts from what the kill left (a resumed run is killed too), and the finished run is the
    uninterrupted one, with no teacher call paid twice."""
    _, _, expected = reference
    store_path = tmp_path / "store.db"
    build_store(store_path)
    # A fresh store has its own cache, so every teacher call here is a real llama.cpp call.
    config = write_config(tmp_path / "run.toml", tiny_llama_dir)
    db = store.open_store(store_path)
    command = ["run", str(config)]
    for stage in ("teacher", "train", "evaluate"):
        proc = subprocess.Popen([sys.executable, "-m", "undo_tui.cli", "--store",
                                 str(store_path), *command], cwd=ROOT, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_for(lambda: db.execute(STAGE_REACHED[stage]).fetchone()[0] > 0
                  or proc.poll() is not None, 300, f"iteration 2 {stage}")
        assert proc.poll() is None, f"the run ended before it could be killed in {stage}"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert store.get_run(db, 1).stage == f"{stage} (iteration 2)"  # killed where meant
        command = ["resume", "1"]
    calls_before = db.execute("SELECT count(*) FROM teacher_cache").fetchone()[0]
    db.close()

    assert main(["--store", str(store_path), "resume", "1"]) == 0
    got = snapshot(store_path, 1)
    assert got["iterations"] == expected["iterations"]
    assert got["predictions"] == expected["predictions"]
    assert got["rationales"] == expected["rationales"]
    assert got["best"] == expected["best"] and got["status"] == "finished"
    # every question was paid for exactly once across the kills: no call repeated
    assert got["cache"] == expected["cache"] >= calls_before
    db = store.open_store(store_path)
    paid = sum(it.teacher_calls for it in store.list_iterations(db, 1))
    db.close()
    assert paid == got["cache"]


def test_equal_budget_baseline_of_the_reference_run(reference):
    """`run --baseline-for`: iteration 1 from the teacher cache, then more epochs on that data."""
    from engine.loop.stage_context import StageContext
    from engine.loop.stages import training_pairs

    store_path, _, _ = reference
    db = store.open_store(store_path)
    cache_before = db.execute("SELECT count(*) FROM teacher_cache").fetchone()[0]
    db.close()
    assert main(["--store", str(store_path), "run", "--baseline-for", "1"]) == 0
    db = store.open_store(store_path)
    baseline = store.get_run(db, max(r.run.id for r in store.list_runs(db)))
    assert baseline.kind == "baseline" and baseline.source_run_id == 1
    assert baseline.status == "finished" and "equal budget" in baseline.stop_reason
    assert db.execute("SELECT count(*) FROM teacher_cache").fetchone()[0] == cache_before
    undo = {it.k: it for it in store.list_iterations(db, 1)}
    ours = {it.k: it for it in store.list_iterations(db, baseline.id)}
    assert set(ours) == set(undo) == {0, 1, 2}
    assert ours[1].teacher_calls == 0  # every iteration-1 teacher answer came from the cache
    same_text = lambda run_id: sorted((r.example_id, r.text) for r in  # noqa: E731
                                      store.rationales_for_iteration(db, run_id, 1))
    assert same_text(baseline.id) == same_text(1)
    assert store.rationales_for_iteration(db, baseline.id, 2) == []  # no refinement
    for k in (1, 2):  # equal budget: the same epochs spent by iteration k
        assert ours[k].metrics["epochs_spent"] == undo[k].metrics["epochs_spent"] == 2 * k
        assert ours[k].epochs_total == 2 * k  # one model, trained on
        assert ours[k].val_accuracy is not None and ours[k].train_size == undo[1].train_size
    source = StageContext.load(store_path, 1, 1)
    iteration_one = sorted(training_pairs(source))
    source.db.close()
    for k in (1, 2):
        ctx = StageContext.load(store_path, baseline.id, k)
        assert sorted(training_pairs(ctx)) == iteration_one  # the data stays iteration 1's
        ctx.db.close()
    assert store.score(db, baseline.id, 1, "train").total == 0  # no refinement step to feed
    db.close()

"""A stop request, then kill -9, in the middle of training: the run resumes from the training
checkpoint (not from step 1) and ends with exactly the metrics of an uninterrupted run.

All runs share one store, so only the first pays for llama.cpp teacher calls (the cache serves
the others). Training is long enough (10 epochs at batch size 1, a checkpoint every step) to be
caught in the middle.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import store
from tests.test_loop_e2e import ROOT, _wait_for, build_store, write_config
from undo_tui.cli import main

def long_training_config(path: Path, student_dir: Path) -> Path:
    config = write_config(path, student_dir)
    text = config.read_text().replace("epochs = 2\nbatch_size = 4",
                                      "epochs = 10\nbatch_size = 1\nsave_steps = 1")
    text = text.replace("max_iterations = 2", "max_iterations = 1")
    config.write_text(text)
    return config


def outcome(store_path: Path, run_id: int) -> dict:
    """What must not depend on the interruption (run ids aside)."""
    db = store.open_store(store_path)
    try:
        it = store.get_iteration(db, run_id, 1)
        predictions = sorted((r["iteration"], r["split"], r["example_id"], r["output"], r["correct"])
                             for r in db.query("SELECT * FROM predictions WHERE run_id = ?",
                                               [run_id]))
        return dict(val=it.val_accuracy, loss=it.train_loss, size=it.train_size,
                    steps=it.metrics.get("train_steps"),
                    final_loss=it.metrics.get("train_final_loss"),
                    tokens=it.metrics.get("train_tokens"), predictions=predictions,
                    status=store.get_run(db, run_id).status)
    finally:
        db.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_llama_dir, smollm2_gguf):
    base = tmp_path_factory.mktemp("resume-training")
    store_path = base / "store.db"
    build_store(store_path)
    config = long_training_config(base / "run.toml", tiny_llama_dir)
    assert main(["--store", str(store_path), "run", str(config)]) == 0
    expected = outcome(store_path, 1)
    assert expected["status"] == "finished" and expected["steps"] == 10 * expected["size"]
    return store_path, config, expected


def _max_run_id(db) -> int:
    return db.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()[0]


def _train_step(db, run_id: int) -> int:
    row = db.execute("SELECT max(done) FROM events WHERE run_id = ? AND kind = 'progress' "
                     "AND stage = 'train'", [run_id]).fetchone()
    return row[0] or 0


def _saved_step(store_path: Path, run_id: int) -> int:
    state = store_path.parent / "runs" / f"run-{run_id}" / "iter-1" / "train-state"
    steps = [int(p.parent.name.split("-")[1]) for p in state.glob("checkpoint-*/undo_checkpoint_complete")]
    return max(steps, default=0)


def _start(store_path: Path, *command: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "undo_tui.cli", "--store", str(store_path),
                             *command], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_stopped_then_killed_training_resumes_from_its_checkpoint(reference):
    """A stop request in the middle of training, then kill -9 in the middle of the resumed
    training: each resume continues from the last saved step, and the run ends with exactly
    the uninterrupted run's metrics and predictions."""
    store_path, config, expected = reference
    db = store.open_store(store_path)
    before = _max_run_id(db)
    proc = _start(store_path, "run", str(config))
    _wait_for(lambda: _max_run_id(db) > before or proc.poll() is not None, 60, "the new run")
    run_id = before + 1
    _wait_for(lambda: _train_step(db, run_id) >= 2 or proc.poll() is not None, 300,
              "training under way")
    assert main(["--store", str(store_path), "stop", str(run_id)]) == 0
    assert proc.wait(timeout=120) == 0
    stopped_at = _saved_step(store_path, run_id)
    assert 2 <= stopped_at < expected["steps"], "training was not caught in the middle"
    it = store.get_iteration(db, run_id, 1)
    assert it.stage == "teacher" and not it.checkpoint_path  # training is not recorded as done
    assert store.get_run(db, run_id).status == "stopped"

    proc = _start(store_path, "resume", str(run_id))
    _wait_for(lambda: _saved_step(store_path, run_id) >= stopped_at + 2
              or proc.poll() is not None, 300, "a saved step after the resumed one")
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = _saved_step(store_path, run_id)
    assert stopped_at < killed_at < expected["steps"], "training was not caught in the middle"
    assert not store.get_iteration(db, run_id, 1).checkpoint_path

    assert main(["--store", str(store_path), "resume", str(run_id)]) == 0
    assert outcome(store_path, run_id) == expected
    it = store.get_iteration(db, run_id, 1)
    assert it.metrics["train_resumed_from_step"] == killed_at  # continued, not from step 1
    messages = [e.message for e in store.events_since(db, run_id, 0, limit=1000)]
    resumed = [m for m in messages if (m or "").startswith("training resumed from its "
                                                             "checkpoint at step")]
    # written when a training ends: the killed one (resumed after the stop) wrote nothing
    assert resumed == [f"training resumed from its checkpoint at step {killed_at}"]
    assert not (Path(it.checkpoint_path).parent / "train-state").exists()
    paid = db.execute("SELECT count(*) FROM teacher_cache").fetchone()[0]
    assert paid == 6  # the reference run paid for the six questions; nobody paid again
    db.close()

"""The UNDO loop with `[training] processes = 2` on this CPU (torchrun, gloo): the same stored
structure as a one-process run, sharded evaluation giving the one-process answers, a stop
request reaching every rank through rank 0, and a rank killed with SIGKILL failing the stage
cleanly (named, with its log tail) before `resume` finishes the run from the training
checkpoint.

One store for every test: the one-process run pays the llama.cpp teacher, the others are served
by the teacher cache.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import store
from tests.fixtures.loop_fixtures import GROUP as LOOP_GROUP
from tests.test_loop_e2e import ROOT, _wait_for
from tests.test_loop_resume_training import _saved_step, _train_step
from undo_tui.cli import main

# the llama.cpp teacher (SmolLM2) and several launcher starts; run 1 is the reference run
pytestmark = [pytest.mark.slow, LOOP_GROUP]


def distributed(config: Path, batch_size: int = 2, **extra) -> Path:
    """The config with two ranks at half the per-device batch (the same global batch)."""
    lines = "".join(f"{key} = {value}\n" for key, value in extra.items())
    text = config.read_text().replace(
        "batch_size = 4\nlr", f"batch_size = {batch_size}\nprocesses = 2\n{lines}lr", 1)
    path = config.with_name(f"{config.stem}-2p.toml")
    path.write_text(text)
    return path


def structure(db, run_id: int) -> dict:
    """Tables and rows per iteration (what the dashboard and exports read)."""
    counts = {}
    for table in ("rationales", "predictions"):
        counts[table] = db.execute(
            f"SELECT iteration, count(*) FROM {table} WHERE run_id = ? GROUP BY iteration "
            "ORDER BY iteration", [run_id]).fetchall()
    counts["splits"] = db.execute(
        "SELECT iteration, split, count(*) FROM predictions WHERE run_id = ? "
        "GROUP BY iteration, split ORDER BY 1, 2", [run_id]).fetchall()
    counts["iterations"] = [(it.k, it.status, it.stage, it.train_size,
                             bool(it.checkpoint_path), it.metrics.get("train_steps"))
                            for it in store.list_iterations(db, run_id)]
    counts["status"] = store.get_run(db, run_id).status
    return counts


def outputs(db, run_id: int, k: int) -> list:
    return db.execute("SELECT split, example_id, output, correct, flexible_correct FROM "
                      "predictions WHERE run_id = ? AND iteration = ? ORDER BY 1, 2",
                      [run_id, k]).fetchall()


@pytest.fixture(scope="module")
def runs(loop_reference):
    """The reference run (run 1) and the same config on two ranks, served by its cache."""
    store_path, config, _ = loop_reference
    db = store.open_store(store_path)
    run_id = db.execute("SELECT max(id) FROM runs").fetchone()[0] + 1
    db.close()
    assert main(["--store", str(store_path), "run", str(distributed(config))]) == 0
    return store_path, config, run_id


def test_two_processes_store_what_one_process_stores(runs):
    store_path, _, run_id = runs
    db = store.open_store(store_path)
    one, two = structure(db, 1), structure(db, run_id)
    assert two == one and two["status"] == "finished"
    assert [k for k, *_ in two["iterations"]] == [0, 1, 2]
    assert sum(it.teacher_calls for it in store.list_iterations(db, run_id)) == 0  # cache served
    log = Path(store.get_run(db, run_id).log_path).read_text()
    assert "[default1]:" in log  # rank 1's output reached the run log
    db.close()


def test_sharded_evaluation_gives_the_one_process_answers(runs):
    """Iteration 0 evaluates the same untrained student in bf16 (the default), where an answer
    depends on its batch's shape: whole batches dealt to the ranks give the same texts."""
    store_path, _, run_id = runs
    db = store.open_store(store_path)
    assert outputs(db, run_id, 0) == outputs(db, 1, 0) and len(outputs(db, 1, 0)) == 6
    assert (store.get_iteration(db, run_id, 0).val_accuracy
            == store.get_iteration(db, 1, 0).val_accuracy)
    db.close()


def _rank_pid(launcher: int, rank: int) -> int | None:
    """The pid of the launcher's worker with RANK=rank (read from /proc)."""
    children = Path(f"/proc/{launcher}/task/{launcher}/children")
    try:
        pids = [int(p) for p in children.read_text().split()]
    except OSError:
        return None
    for pid in pids:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"RANK={rank}".encode() in environ:
            return pid
    return None


def _stage_child(db, run_id: int) -> int | None:
    row = db.execute("SELECT data_json FROM events WHERE run_id = ? AND stage = 'train' AND "
                     "message LIKE 'train child pid%' ORDER BY id DESC LIMIT 1",
                     [run_id]).fetchone()
    return None if row is None else json.loads(row[0])["pid"]


def _start(store_path: Path, *command: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "undo_tui.cli", "--store", str(store_path),
                             *command], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_stop_then_a_killed_rank_then_resume_finishes(runs):
    """A stop request reaches both ranks through rank 0 (the run stops with a checkpoint); the
    resumed training continues from it; SIGKILL to rank 1 then fails the stage with that rank
    named and the log's tail, without a hang; a second resume finishes the run."""
    store_path, config, _ = runs
    long = distributed(config, batch_size=1, save_steps=1).read_text()
    long = long.replace("epochs = 2", "epochs = 5\ndevice = \"cpu\"").replace(
        "max_iterations = 2", "max_iterations = 1").replace(
        "[evaluation]\n", "[evaluation]\nevaluate_base = false\n")
    path = config.with_name("long-2p.toml")
    path.write_text(long)
    db = store.open_store(store_path)
    run_id = db.execute("SELECT max(id) FROM runs").fetchone()[0] + 1
    proc = _start(store_path, "run", str(path))
    _wait_for(lambda: _train_step(db, run_id) >= 2 or proc.poll() is not None, 300,
              "two training steps")
    assert main(["--store", str(store_path), "stop", str(run_id)]) == 0
    assert proc.wait(timeout=120) == 0
    assert store.get_run(db, run_id).status == "stopped"
    stopped_at = _saved_step(store_path, run_id)
    assert stopped_at >= 2  # both ranks stopped at the same step and saved it

    proc = _start(store_path, "resume", str(run_id))
    _wait_for(lambda: _saved_step(store_path, run_id) > stopped_at or proc.poll() is not None,
              300, "a checkpoint after the resumed step")
    assert proc.poll() is None, "the run ended before a rank could be killed"
    rank_one = _rank_pid(_stage_child(db, run_id), 1)
    assert rank_one is not None
    os.kill(rank_one, signal.SIGKILL)
    proc.communicate(timeout=120)  # no hang: the launcher stops rank 0
    assert proc.returncode != 0
    run = store.get_run(db, run_id)
    assert run.status == "failed"
    assert "iteration 1 stage train failed: rank 1" in run.error
    assert f"(pid {rank_one}) was killed by SIGKILL" in run.error
    assert "last log lines" in run.error and run.log_path in run.error
    assert store.get_iteration(db, run_id, 1).checkpoint_path is None
    killed_at = _saved_step(store_path, run_id)

    assert main(["--store", str(store_path), "resume", str(run_id)]) == 0
    run = store.get_run(db, run_id)
    it = store.get_iteration(db, run_id, 1)
    assert run.status == "finished" and it.checkpoint_path
    assert it.metrics["train_resumed_from_step"] == killed_at > stopped_at
    assert it.metrics["train_steps"] == 5 * 6 // 2  # 5 epochs of 6 examples, global batch 2
    db.close()

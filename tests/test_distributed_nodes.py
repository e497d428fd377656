"""Two "nodes" on this machine (127.0.0.1, one rank each): the supervisor's evaluate stage on
node 0 and `engine.loop.follow_node` as node 1, which never sees the store; and two ranks
started by `accelerate launch`. The predictions are those of the one-process stage (bf16, where
an answer depends on its batch's shape)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import store
from engine.config import load_config
from engine.loop.launcher import free_port
from engine.loop.supervisor import create_run, run_stage_process
from tests.test_loop_e2e import ROOT, build_store, write_config


def evaluate_base(store_path: Path, config_path: Path) -> int:
    db = store.open_store(store_path)
    try:
        run_id = create_run(db, store_path, load_config(config_path))
        store.upsert_iteration(db, run_id, 0)
        run_stage_process(db, store_path, run_id, 0, "evaluate")
        return run_id
    finally:
        db.close()


def predictions(store_path: Path, run_id: int) -> list:
    db = store.open_store(store_path)
    try:
        return db.execute("SELECT split, example_id, output, correct FROM predictions WHERE "
                          "run_id = ? ORDER BY 1, 2", [run_id]).fetchall()
    finally:
        db.close()


class FollowerOutput:
    """Reads the follower's output as it comes, so the test can wait for node 1's stage to
    end before it stops the follower: node 0's stage returns while node 1's launcher may
    still be in its exit barrier, and a Ctrl-C then lands before node 1 reports."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self.stage_ended = threading.Event()
        self.thread = threading.Thread(target=self.read, args=(stream,), daemon=True)
        self.thread.start()

    def read(self, stream) -> None:
        for raw in stream:
            line = raw.decode(errors="replace")
            self.lines.append(line)
            if "node 1: ranks exited with code 0" in line:
                self.stage_ended.set()

    @property
    def text(self) -> str:
        return "".join(self.lines)


def test_a_second_node_and_accelerate_launch_evaluate_like_one_process(tmp_path,
                                                                       tiny_llama_dir):
    store_path = tmp_path / "head" / "store.db"
    store_path.parent.mkdir()
    build_store(store_path, n_train=2, n_val=10)
    one = write_config(tmp_path / "one.toml", tiny_llama_dir)
    endpoint = f"127.0.0.1:{free_port()}"
    two = tmp_path / "nodes.toml"
    two.write_text(one.read_text().replace(
        "[training]\n", f'[training]\nnodes = 2\nrdzv_endpoint = "{endpoint}"\n'))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    follower = subprocess.Popen([sys.executable, "-m", "engine.loop.follow_node", str(two),
                                 "--node-rank", "1"], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
    output = FollowerOutput(follower.stdout)
    try:
        reference = evaluate_base(store_path, one)
        sharded = evaluate_base(store_path, two)
        node_1_ended = output.stage_ended.wait(timeout=120)
    finally:
        os.killpg(follower.pid, signal.SIGINT)
        follower.wait(timeout=60)
        output.thread.join(timeout=60)
    assert len(predictions(store_path, reference)) == 10
    assert predictions(store_path, sharded) == predictions(store_path, reference)
    assert node_1_ended, output.text[-3000:]
    assert "[default0]:" in output.text  # node 1's rank wrote to its own node's output

    accelerate = tmp_path / "accelerate.toml"
    accelerate.write_text(one.read_text().replace(
        "[training]\n", '[training]\nprocesses = 2\nlauncher = "accelerate"\n'))
    launched = evaluate_base(store_path, accelerate)
    assert predictions(store_path, launched) == predictions(store_path, reference)
    db = store.open_store(store_path)
    log = Path(store.get_run(db, launched).log_path).read_text()
    db.close()
    assert "[default1]:" in log  # accelerate's rank 1 wrote to the run log

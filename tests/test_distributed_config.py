"""[training] launcher settings: validated with the way out, turned into the launcher's command,
and a launcher's failure report turned into the stage's error (no torch needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.config import config_from_dict
from engine.config.training import TrainConfig
from engine.errors import ConfigError
from engine.loop.failures import failed_rank, rank_tail
from engine.loop.launcher import follower_command, stage_command
from engine.student.resume import fingerprint

BASE = {"run": {"name": "d"}, "dataset": {"name": "arith"}, "teacher": {"model": "smollm2"},
        "student": {"model": "smollm2"}}


def refused(training: dict) -> str:
    with pytest.raises(ConfigError) as error:
        config_from_dict({**BASE, "training": training}, source="run.toml")
    return str(error.value)


def test_defaults_are_one_process():
    config = TrainConfig()
    assert (config.processes, config.nodes, config.launcher, config.strategy) == (
        1, 1, "torchrun", "ddp")
    assert stage_command(config, "train", Path("s.db"), 1, 1)[1:3] == [
        "-m", "engine.loop.stage_main"]


@pytest.mark.parametrize("training, words", [
    ({"processes": 0}, ["training.processes", "must be >= 1, got 0"]),
    ({"launcher": "mpirun"}, ["training.launcher", "'torchrun'", "'accelerate'"]),
    ({"strategy": "fsdp"}, ["lora = false", "strategy = 'ddp'"]),
    ({"strategy": "deepspeed", "lora": False}, ["deepspeed package", "not installed"]),
    ({"nodes": 2}, ["rdzv_endpoint", "host:port"]),
    ({"rdzv_endpoint": "head"}, ["rdzv_endpoint must be", "'head'"]),
    ({"processes": 2, "objective": "kd", "teacher_model": "smollm2"},
     ["objective = 'sft' only", "processes = 1"]),
])
def test_settings_that_cannot_work_are_refused_with_the_way_out(training, words):
    message = refused(training)
    assert "run.toml" in message and "Traceback" not in message
    for word in words:
        assert word in message


def test_torchrun_command_runs_this_interpreter_with_every_setting():
    config = TrainConfig(processes=2, nodes=2, rdzv_endpoint="head:29500", dist_timeout_s=30)
    command = stage_command(config, "train", Path("/d/s.db"), 7, 3)
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    joined = " ".join(command)
    for part in ("--nnodes 2", "--nproc_per_node 2", "--node_rank 0",
                 "--rdzv_backend static --master_addr head --master_port 29500",
                 "--max_restarts 0", "--tee 3", "-m engine.loop.stage_main --dist-timeout 30 "
                 "train --store /d/s.db --run-id 7 --iteration 3"):
        assert part in joined
    follower = " ".join(follower_command(config, 1))
    assert "--node_rank 1" in follower and "follow --store" in follower
    # the teacher pass is never distributed
    assert stage_command(config, "teacher", Path("/d/s.db"), 7, 3)[1:3] == [
        "-m", "engine.loop.stage_main"]
    assert "--cpu" not in command  # device unset: a rank takes its GPU where there is one
    on_cpu = config.model_copy(update={"device": "cpu"})
    for argv in (stage_command(on_cpu, "train", Path("/d/s.db"), 7, 3),
                 follower_command(on_cpu, 1)):
        assert "--dist-timeout 30 --cpu" in " ".join(argv)  # every node's ranks stay on the CPU


def test_accelerate_command_counts_every_process():
    config = TrainConfig(processes=4, nodes=2, launcher="accelerate", rdzv_endpoint="h:1234")
    joined = " ".join(stage_command(config, "evaluate", Path("s.db"), 1, 0))
    assert joined.startswith(f"{sys.executable} -m accelerate.commands.launch --multi_gpu")
    for part in ("--num_processes 8", "--num_machines 2", "--machine_rank 0",
                 "--main_process_ip h", "--main_process_port 1234", "--max_restarts 0"):
        assert part in joined


def test_only_the_global_batch_decides_a_resumable_state():
    features = [{"input_ids": [1, 2], "labels": [-100, 2]}]
    one = fingerprint(features, TrainConfig().model_dump(), "m", None)
    assert fingerprint(features, TrainConfig(launcher="accelerate", dist_timeout_s=30)
                       .model_dump(), "m", None) == one
    assert fingerprint(features, TrainConfig(processes=2).model_dump(), "m", None) != one


LAUNCHER_REPORT = """[default0]:step 3 done
[default1]:loading shard
[default1]:step 3 done
E1207 18:43:24.981000 10420 api.py:1002] failed (exitcode: -9) local_rank: 1 (pid: 10452)
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
Failures:
[1]:
  rank      : 0 (local_rank: 0)
  exitcode  : -15 (pid: 10451)  (SIGTERM)
Root Cause (first observed failure):
[0]:
  time      : 2026-12-07_18:43:24
  host      : localhost
  rank      : 1 (local_rank: 1)
  exitcode  : -9 (pid: 10452)  (SIGKILL)
  error_file: <N/A>
"""


def test_the_launchers_root_cause_names_the_dead_rank_and_its_lines():
    failure = failed_rank(LAUNCHER_REPORT)
    assert failure.describe() == "rank 1 (pid 10452) was killed by SIGKILL"
    assert rank_tail(LAUNCHER_REPORT, 1) == "loading shard\nstep 3 done"
    assert failed_rank("one process: no launcher report") is None

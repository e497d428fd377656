"""The command that starts a stage: one `engine.loop.stage_main` process, or its ranks through
torchrun or accelerate launch when `[training] processes x nodes > 1` (train and evaluate only;
the teacher pass stays one process).

Both launchers are started as modules of this interpreter (`python -m torch.distributed.run`,
`python -m accelerate.commands.launch`), so the ranks run in the same environment as the
supervisor. Every rank's output goes to the run log, each line prefixed with its local rank
(`[default1]:`), and a rank that dies makes the launcher's elastic agent stop the others and exit
(max restarts 0): the supervisor then names the dead rank (engine/loop/failures.py). Pure: no torch.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from engine.config.training import TrainConfig

DISTRIBUTED_STAGES = ("train", "evaluate")
STAGE_MODULE = "engine.loop.stage_main"


def is_distributed(config: TrainConfig, stage: str) -> bool:
    return config.world_size > 1 and stage in DISTRIBUTED_STAGES


def stage_arguments(stage: str, store_path: Path, run_id: int, k: int,
                    run_flag: str = "--run") -> list[str]:
    """(torchrun's parser takes `--run` for an abbreviation of its --run-path: the launched
    command says --run-id)"""
    return [stage, "--store", str(store_path), run_flag, str(run_id), "--iteration", str(k)]


def stage_command(config: TrainConfig, stage: str, store_path: Path, run_id: int,
                  k: int, ranks: bool = True) -> list[str]:
    """argv of the process the supervisor starts for one stage (on node 0); ranks=False keeps
    a stage to one process whatever `processes` says (an evaluation a server answers)."""
    if not ranks or not is_distributed(config, stage):
        return [sys.executable, "-m", STAGE_MODULE, *stage_arguments(stage, store_path, run_id, k)]
    return launcher_command(config, node_rank=0) + stage_arguments(stage, store_path, run_id, k,
                                                                   "--run-id")


def launcher_command(config: TrainConfig, node_rank: int) -> list[str]:
    """The launcher's argv up to the stage's own arguments; a node other than 0 runs the same
    with its node_rank (see `follower_command`)."""
    endpoint = config.rdzv_endpoint or f"127.0.0.1:{free_port()}"
    host, _, port = endpoint.rpartition(":")
    timeout = ["--dist-timeout", str(config.dist_timeout_s)]
    if config.cpu_ranks:
        timeout.append("--cpu")  # the ranks leave visible GPUs alone (engine/student/ranks.py)
    if config.launcher == "accelerate":
        return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
                "--num_processes", str(config.world_size), "--num_machines", str(config.nodes),
                "--machine_rank", str(node_rank), "--main_process_ip", host,
                "--main_process_port", port, "--rdzv_backend", "static", "--max_restarts", "0", "--tee", "3", "--mixed_precision", "no",
                "--dynamo_backend", "no", "-m", STAGE_MODULE, *timeout]
    # static rendezvous: rank = node_rank x processes + local rank, so rank 0 is always on
    # node 0 with the store (c10d would number the nodes in the order they join)
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(config.nodes),
            "--nproc_per_node", str(config.processes), "--node_rank", str(node_rank),
            "--rdzv_backend", "static", "--master_addr", host, "--master_port", port,
            "--max_restarts", "0", "--tee", "3", "-m", STAGE_MODULE, *timeout]


def follower_command(config: TrainConfig, node_rank: int) -> list[str]:
    """What node `node_rank` (1 .. nodes-1) runs for each distributed stage: its ranks take the
    stage and its inputs from rank 0, so the placeholders after the module are never read."""
    return launcher_command(config, node_rank) + stage_arguments("follow", Path("-"), 0, 0,
                                                                 "--run-id")


def free_port() -> int:
    """A port free on this machine now (one node: the ranks meet on 127.0.0.1)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

"""The ranks of a stage started by torchrun or accelerate launch (engine/loop/launcher.py).

Rank 0 is the only one that touches the store: it reads the stage's inputs and shares them, it
decides (stop, save) and shares the decision, and it writes every result. So a rank on another
node needs nothing but the model files and the run's checkpoint directory, and no two ranks ever
act on different decisions (a rank that stopped alone would leave the others waiting in a
collective). Without a launcher every function here is the one-process identity.
"""

from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as dist


def launched() -> bool:
    """True inside a rank started by a launcher for more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_lead() -> bool:
    return rank() == 0


def init(timeout_s: int, cuda: bool = True) -> None:
    """Join the launcher's process group: gloo for the objects we share (and for training on
    CPU), nccl for CUDA tensors when GPUs are visible and `cuda` (each rank takes the GPU of its
    local rank; `[training] device = "cpu"` passes cuda=False). A collective waits `timeout_s`
    for a silent peer; a dead one is noticed by the launcher first, which stops every rank."""
    if dist.is_initialized():
        return
    backend = "gloo"
    if cuda and torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        backend = "cpu:gloo,cuda:nccl"
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))


def finish() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def share(value):
    """Rank 0's `value` on every rank (any picklable object)."""
    if not active():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(value) -> list | None:
    """Every rank's `value`, in rank order, on rank 0 (None elsewhere)."""
    if not active():
        return [value]
    out = [None] * world_size() if is_lead() else None
    dist.gather_object(value, out, dst=0)
    return out


def total(number: int) -> int:
    """The sum over ranks of an integer every rank holds."""
    if not active():
        return number
    value = torch.tensor([number], dtype=torch.long)
    dist.all_reduce(value)
    return int(value.item())


def barrier() -> None:
    if active():
        dist.barrier()

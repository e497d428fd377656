"""Replay: the student's recent on-policy batches, trained on again as off-policy data.

PCL's consistency holds on any trajectory, so earlier samples stay usable after the student has
moved on (Nachum et al. keep a replay buffer for the same reason); GKD's divergence is defined on
any data too. The buffer holds the newest `size` sampled batches on the CPU, is replayed in turn
by batch number, and is saved into each resumable checkpoint, so a resumed training replays what
the uninterrupted one would.
"""

from __future__ import annotations

from pathlib import Path

import torch

KEYS = ("input_ids", "attention_mask", "labels")


class ReplayBuffer:
    FILE = "undo_replay.pt"

    def __init__(self, size: int):
        self.size = size
        self.batches: list[dict] = []

    def add(self, batch: dict) -> None:
        self.batches.append({key: batch[key].detach().cpu() for key in KEYS})
        del self.batches[:-self.size]

    def pick(self, batch_number: int, device) -> dict | None:
        """A stored batch on `device` (in turn by batch number), or None while there is none."""
        if not self.batches:
            return None
        stored = self.batches[batch_number % len(self.batches)]
        return {key: value.to(device) for key, value in stored.items()}

    def save(self, checkpoint: Path) -> None:
        torch.save(self.batches, Path(checkpoint) / self.FILE)

    def load(self, checkpoint: Path) -> None:
        path = Path(checkpoint) / self.FILE
        self.batches = torch.load(path) if path.is_file() else []

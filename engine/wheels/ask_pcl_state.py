"""Resumable state of ask training's constrained PCL stage (engine.wheels.ask_pcl).

A checkpoint holds everything a step depends on: the student's and the value head's weights,
the optimizer's moments, λ per level, the steps done with their metrics, and torch's random
state (the rollouts draw from generators seeded by the step number, so nothing else is random).
It is written whole into a temp directory and renamed into place (engine.student.atomic), then
marked complete and the older ones dropped (engine.student.resume's rules, shared with the
student trainer's checkpoints); the directory remembers a fingerprint of the settings, levels
and data, so state made for something else is discarded rather than resumed. With fixed seeds
a stage resumed from step k ends exactly as an uninterrupted one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from engine.student.atomic import atomic_dir
from engine.student.resume import fingerprint, mark_saved, prepare_state_dir
from engine.student.training import SavePolicy
from engine.wheels.ask_settings import AskPCL

STATE_FILE = "pcl_state.pt"


@dataclass
class PCLCheckpoints:
    """Where and when the PCL stage saves its state, and how it learns of a stop request."""

    state_dir: Path
    identity: str  # the warm-started asker's (part of the fingerprint)
    saving: SavePolicy = field(default_factory=lambda: SavePolicy(True))
    should_stop: Callable[[], bool] | None = None
    started: Callable[[int], None] | None = None  # told the step the stage starts after
    print_: str = ""

    def prepare(self, settings: AskPCL, levels: Sequence[float], references) -> dict | None:
        """Keep only state for these settings, levels and references; the newest saved state,
        or None."""
        features = [{"input_ids": list(r.teacher_prompt), "labels": list(r.continuation)}
                    for r in references]
        self.print_ = fingerprint(features, {**asdict(settings), "levels": list(levels)},
                                  self.identity, None)
        latest = prepare_state_dir(Path(self.state_dir), self.print_)
        if latest is None:
            return None
        return torch.load(latest / STATE_FILE, map_location="cpu", weights_only=False)

    def save(self, state: dict) -> None:
        """`state` (step, weights, optimizer, λ, history) as checkpoint-<step>, complete or
        absent, then marked; older checkpoints are dropped."""
        final = Path(self.state_dir) / f"checkpoint-{state['step']}"
        with atomic_dir(final) as tmp:
            torch.save({**state, "rng": torch.get_rng_state()}, tmp / STATE_FILE)
        mark_saved(final)
        self.saving.last_save = time.monotonic()


def restore_rng(state: dict) -> None:
    torch.set_rng_state(state["rng"])

"""The settings of ask training's warm start (engine.wheels.ask_training) and constrained PCL
stage (engine.wheels.ask_pcl), importable without torch so the command line can show their
defaults and an ask run's configuration can be read without loading a model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from store.errors import UndoError


@dataclass(frozen=True)
class AskTraining:
    """Settings of the warm start (supervised deferral, full fine-tuning)."""

    epochs: int = 3
    lr: float = 1e-4
    batch_size: int = 4
    seed: int = 0
    device: str = "cpu"


@dataclass(frozen=True)
class AskPCL:
    """Settings of the constrained PCL stage."""

    steps: int = 0  # PCL steps after the warm start (0: the warm start only)
    rollouts: int = 4  # prompts per budget level per step
    max_new_tokens: int = 64  # longest rollout; a cut one bootstraps from V where it was cut
    temperature: float = 1.0  # the student's sampling temperature in rollouts
    teacher_sample: bool = False  # an ask's token is sampled from the teacher, not its greedy one
    tau: float = 1.0  # entropy weight: the policy is softmax(z/τ) over vocab + ask
    window: int = 1  # PCL window d in steps (0: to the end)
    value: Literal["head", "logsumexp"] = "head"  # V: a value head, or τ·logsumexp (see pcl.py)
    ce_weight: float = 0.05  # cross-entropy anchor on the references (shared vocabulary only)
    eta: float = 1.0  # dual step size: λ_B ← max(0, λ_B + η·(usage_B − B))
    lambda_init: float = 0.0  # every level's λ at the start
    lr: float = 1e-4  # AdamW learning rate (student and value head)
    max_grad_norm: float = 1.0  # gradient clipping
    seed: int = 0  # rollout sampling

    def __post_init__(self):
        checks = {"steps": self.steps >= 0, "rollouts": self.rollouts >= 1,
                  "max_new_tokens": self.max_new_tokens >= 1, "temperature": self.temperature > 0,
                  "tau": self.tau > 0, "window": self.window >= 0, "eta": self.eta >= 0,
                  "lambda_init": self.lambda_init >= 0, "ce_weight": self.ce_weight >= 0,
                  "lr": self.lr > 0, "value": self.value in ("head", "logsumexp")}
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise UndoError(f"ask PCL settings: {bad[0]} = {getattr(self, bad[0])!r} is out of "
                            "range (steps, window, eta, lambda_init, ce_weight >= 0; rollouts, "
                            "max_new_tokens >= 1; temperature, tau, lr > 0; value head|logsumexp)")

"""When to ask: one decision per sequence and step, from the student's (and maybe the teacher's)
next-token distribution.

Two kinds. A *rule* policy decides by itself (never, always, where the greedy tokens disagree,
where the student emits `<ask>`); only the hard cap limits it. A *scored* policy gives each row
a need score and leaves the choice to the budget controller, which asks on the highest scores at
the rate that keeps the realised share on target (random: a uniform score, the control;
threshold: the student's entropy or 1 - its top probability, Big Little Decoder's fallback).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

POLICIES = ("student", "teacher", "random", "threshold", "disagree", "learned", "speculative")
SIGNALS = ("entropy", "confidence")


@dataclass
class StepView:
    """What a policy may look at for one decoding step of a batch."""

    student_logits: torch.Tensor  # [B, V] on the shared vocabulary (no <ask> column)
    student_full: torch.Tensor  # [B, V'] the student's own logits (<ask> included, if any)
    teacher_logits: torch.Tensor | None  # [B, V] only for policies that need the teacher everywhere


class Policy:
    name = "policy"
    scored = False  # True: the budget controller picks the asks from scores()
    needs_teacher_everywhere = False  # True: the teacher reads every token (disagree)
    needs_student = True  # False: the student's logits are never used (always asking)

    def wants(self, view: StepView) -> torch.Tensor:
        """Rule policies: bool per row."""
        raise NotImplementedError

    def scores(self, view: StepView) -> torch.Tensor:
        """Scored policies: need per row, higher = ask first."""
        raise NotImplementedError


class Never(Policy):
    name = "student"

    def wants(self, view: StepView) -> torch.Tensor:
        return torch.zeros(view.student_logits.shape[0], dtype=torch.bool)


class Always(Policy):
    name = "teacher"
    needs_student = False

    def wants(self, view: StepView) -> torch.Tensor:
        return torch.ones(view.student_logits.shape[0], dtype=torch.bool)


class RandomAsk(Policy):
    name = "random"
    scored = True

    def __init__(self, seed: int):
        self.generator = torch.Generator().manual_seed(seed)

    def scores(self, view: StepView) -> torch.Tensor:
        return torch.rand(view.student_logits.shape[0], generator=self.generator)


class Threshold(Policy):
    name = "threshold"
    scored = True

    def __init__(self, signal: str = "entropy"):
        if signal not in SIGNALS:
            raise ValueError(f"threshold signal must be one of {SIGNALS}, got {signal!r}")
        self.signal = signal

    def scores(self, view: StepView) -> torch.Tensor:
        logp = torch.log_softmax(view.student_logits.float(), dim=-1)
        if self.signal == "confidence":
            return 1.0 - logp.max(dim=-1).values.exp()
        return -(logp.exp() * logp).sum(dim=-1)


class Disagree(Policy):
    """Asks where the student's greedy token differs from the teacher's. Needs the teacher on
    every token, and was measured here to spend its budget on wording, not on answers."""

    name = "disagree"
    needs_teacher_everywhere = True

    def wants(self, view: StepView) -> torch.Tensor:
        return view.student_logits.argmax(-1) != view.teacher_logits.argmax(-1)


class Learned(Policy):
    """The student's own `<ask>` token (Training Wheels part 2): asks where it is the most likely
    token, or where its probability exceeds `min_probability` when that is set."""

    name = "learned"

    def __init__(self, ask_token_id: int, min_probability: float | None = None):
        self.ask_token_id = ask_token_id
        self.min_probability = min_probability

    def wants(self, view: StepView) -> torch.Tensor:
        full = view.student_full.float()
        if self.min_probability is None:
            return full.argmax(-1) == self.ask_token_id
        return torch.softmax(full, dim=-1)[:, self.ask_token_id] > self.min_probability

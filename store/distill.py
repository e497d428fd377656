"""Distillation runs in the store: the outcome of each (the distilled student, its strict accuracy
with n and interval, KL to the teacher before and after) and the histories the TUI plots, read
back from events (the loss of every training step, every KL measurement)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlite_utils import Database

from store.events import add_event
from store.step_runs import (outcome_row, save_result, set_outcome_columns, stage_events,
                             step_history)

LOSS_STAGE = "train"  # progress events: one per optimizer step, data = the trainer's figures
KL_STAGE = "kl"  # metric events: one per measurement, data = step, when, mean, low, high, n
EVAL_STAGE = "evaluate"
TABLE = "distill_runs"
RESULT_COLUMNS = ("steps", "final_loss", "eval_split", "n", "correct", "accuracy_low",
                  "accuracy_high", "kl_before", "kl_after")


@dataclass(frozen=True)
class DistillOutcome:
    run_id: int
    student: str | None = None  # the distilled student's directory, once written
    steps: int | None = None
    final_loss: float | None = None
    eval_split: str | None = None
    n: int | None = None
    correct: int | None = None
    accuracy_low: float | None = None
    accuracy_high: float | None = None
    kl_before: float | None = None
    kl_after: float | None = None
    result: dict = field(default_factory=dict)
    finished_at: str | None = None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.n if self.n else None


@dataclass(frozen=True)
class KLPoint:
    step: int
    when: str  # before | periodic | final
    mean: float
    low: float
    high: float
    n: int


def set_student(db: Database, run_id: int, student: str) -> None:
    """Record where the distilled student is (written before it is evaluated)."""
    set_outcome_columns(db, TABLE, run_id, {"student": student})


def save_outcome(db: Database, run_id: int, values: dict, result: dict) -> None:
    """The run's final figures (RESULT_COLUMNS) and the rest of its result as JSON."""
    save_result(db, TABLE, RESULT_COLUMNS, run_id, values, result)


def get_outcome(db: Database, run_id: int) -> DistillOutcome:
    row = outcome_row(db, TABLE, run_id)
    return DistillOutcome(**row) if row else DistillOutcome(run_id)


def add_kl(db: Database, run_id: int, step: int, when: str, kl: dict) -> None:
    """One KL(teacher||student) measurement (a HeldOutKL's fields) at an optimizer step."""
    add_event(db, run_id, "metric", stage=KL_STAGE, done=step,
              data={"step": step, "when": when, **kl})


def kl_history(db: Database, run_id: int) -> list[KLPoint]:
    """Every measurement by step; a step measured twice (training resumed from a checkpoint
    before it) counts once, the newest."""
    by_step: dict[tuple[int, str], KLPoint] = {}
    for event in stage_events(db, run_id, "metric", KL_STAGE):
        d = event.data
        by_step[(d["step"], d["when"])] = KLPoint(d["step"], d["when"], d["mean"], d["low"],
                                                  d["high"], d["n"])
    return sorted(by_step.values(), key=lambda p: (p.step, p.when != "before"))


def loss_history(db: Database, run_id: int) -> list[dict]:
    """The trainer's figures per optimizer step (loss, its parts, lr, tokens/s), by step."""
    return step_history(db, run_id, LOSS_STAGE)

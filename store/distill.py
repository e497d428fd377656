"""Distillation runs in the store: the outcome of each (the distilled student, its strict accuracy
with n and interval, KL to the teacher before and after) and the histories the TUI plots, read
back from events (the loss of every training step, every KL measurement)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlite_utils import Database

from store.connection import write
from store.events import add_event
from store.models import Event

LOSS_STAGE = "train"  # progress events: one per optimizer step, data = the trainer's figures
KL_STAGE = "kl"  # metric events: one per measurement, data = step, when, mean, low, high, n
EVAL_STAGE = "evaluate"
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

    @classmethod
    def from_row(cls, row: dict) -> DistillOutcome:
        row = dict(row)
        row["result"] = json.loads(row.pop("result_json") or "{}")
        return cls(**row)


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
    with write(db):
        db.execute("INSERT INTO distill_runs (run_id, student) VALUES (?, ?) ON CONFLICT(run_id) "
                   "DO UPDATE SET student = excluded.student", [run_id, student])


def save_outcome(db: Database, run_id: int, values: dict, result: dict) -> None:
    """The run's final figures (RESULT_COLUMNS) and the rest of its result as JSON."""
    unknown = set(values) - set(RESULT_COLUMNS)
    if unknown:
        raise ValueError(f"unknown distill result column(s): {sorted(unknown)}")
    fields = {**values, "result_json": json.dumps(result),
              "finished_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    assignments = ", ".join(f"{column} = ?" for column in fields)
    with write(db):
        db.execute("INSERT OR IGNORE INTO distill_runs (run_id) VALUES (?)", [run_id])
        db.execute(f"UPDATE distill_runs SET {assignments} WHERE run_id = ?",
                   [*fields.values(), run_id])


def get_outcome(db: Database, run_id: int) -> DistillOutcome:
    rows = list(db.query("SELECT * FROM distill_runs WHERE run_id = ?", [run_id]))
    return DistillOutcome.from_row(rows[0]) if rows else DistillOutcome(run_id)


def add_kl(db: Database, run_id: int, step: int, when: str, kl: dict) -> None:
    """One KL(teacher||student) measurement (a HeldOutKL's fields) at an optimizer step."""
    add_event(db, run_id, "metric", stage=KL_STAGE, done=step,
              data={"step": step, "when": when, **kl})


def kl_history(db: Database, run_id: int) -> list[KLPoint]:
    """Every measurement by step; a step measured twice (training resumed from a checkpoint
    before it) counts once, the newest."""
    by_step: dict[tuple[int, str], KLPoint] = {}
    for event in _events(db, run_id, "metric", KL_STAGE):
        d = event.data
        by_step[(d["step"], d["when"])] = KLPoint(d["step"], d["when"], d["mean"], d["low"],
                                                  d["high"], d["n"])
    return sorted(by_step.values(), key=lambda p: (p.step, p.when != "before"))


def loss_history(db: Database, run_id: int) -> list[dict]:
    """The trainer's figures per optimizer step (loss, its parts, lr, tokens/s), by step; a
    step trained again after a resume counts once, the newest."""
    by_step = {e.data["step"]: e.data for e in _events(db, run_id, "progress", LOSS_STAGE)
               if "step" in e.data}
    return [by_step[step] for step in sorted(by_step)]


def _events(db: Database, run_id: int, kind: str, stage: str) -> list[Event]:
    return [Event.from_row(row) for row in db.query(
        "SELECT * FROM events WHERE run_id = ? AND kind = ? AND stage = ? ORDER BY id",
        [run_id, kind, stage])]

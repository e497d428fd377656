"""Ask-training runs in the store (kind 'ask'): the outcome of each (where the asker is, the
two stages' step counts and final losses, λ and usage per level at the end) and the per-step
histories the TUI plots, read back from progress events."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlite_utils import Database

from store.step_runs import outcome_row, save_result, set_outcome_columns, step_history

WARM_STAGE = "warm"  # progress events: one per warm-start step (loss, lr, eta_s)
PCL_STAGE = "pcl"  # one per PCL step: loss, residual_ms, ce, tokens, lambda_<pct>, usage_<pct>
TABLE = "ask_runs"
RESULT_COLUMNS = ("warm_steps", "warm_loss", "pcl_steps", "final_loss")


@dataclass(frozen=True)
class AskOutcome:
    run_id: int
    asker: str | None = None  # the asker's model directory, once written
    out_dir: str | None = None  # the copy asked for with --out, once written
    warm_steps: int | None = None
    warm_loss: float | None = None
    pcl_steps: int | None = None
    final_loss: float | None = None
    result: dict = field(default_factory=dict)  # levels, labelled asks, λ and usage per level
    finished_at: str | None = None


def set_asker(db: Database, run_id: int, asker: str, out_dir: str | None) -> None:
    """Record where the asker is (and its --out copy) as soon as it is written."""
    set_outcome_columns(db, TABLE, run_id, {"asker": asker, "out_dir": out_dir})


def save_outcome(db: Database, run_id: int, values: dict, result: dict) -> None:
    save_result(db, TABLE, RESULT_COLUMNS, run_id, values, result)


def get_outcome(db: Database, run_id: int) -> AskOutcome:
    row = outcome_row(db, TABLE, run_id)
    return AskOutcome(**row) if row else AskOutcome(run_id)


def warm_history(db: Database, run_id: int) -> list[dict]:
    """The warm start's figures per optimizer step, by step."""
    return step_history(db, run_id, WARM_STAGE)


def pcl_history(db: Database, run_id: int) -> list[dict]:
    """The PCL stage's figures per step, by step (a step repeated after a resume: the newest)."""
    return step_history(db, run_id, PCL_STAGE)

"""What the runs computed in one process with steps share in the store (distillations, ask
trainings): one outcome row per run in a table of the kind's own, written as the run ends, and
per-step figures read back from progress events."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlite_utils import Database

from store.connection import write
from store.models import Event


def set_outcome_columns(db: Database, table: str, run_id: int, values: dict) -> None:
    """Set `values` (column -> value) on the run's row of `table`, made when missing."""
    assignments = ", ".join(f"{column} = ?" for column in values)
    with write(db):
        db.execute(f"INSERT OR IGNORE INTO {table} (run_id) VALUES (?)", [run_id])
        db.execute(f"UPDATE {table} SET {assignments} WHERE run_id = ?",
                   [*values.values(), run_id])


def save_result(db: Database, table: str, columns: tuple[str, ...], run_id: int, values: dict,
                result: dict) -> None:
    """The run's final figures (`columns` of `table`), the rest of its result as JSON, and
    when it was written."""
    unknown = set(values) - set(columns)
    if unknown:
        raise ValueError(f"unknown {table} column(s): {sorted(unknown)}")
    set_outcome_columns(db, table, run_id, {
        **values, "result_json": json.dumps(result),
        "finished_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")})


def outcome_row(db: Database, table: str, run_id: int) -> dict | None:
    """The run's row of `table` with `result_json` read as `result`, or None."""
    rows = list(db.query(f"SELECT * FROM {table} WHERE run_id = ?", [run_id]))
    if not rows:
        return None
    row = dict(rows[0])
    row["result"] = json.loads(row.pop("result_json") or "{}")
    return row


def step_history(db: Database, run_id: int, stage: str) -> list[dict]:
    """The figures of every step of `stage` (progress events whose data has a 'step'), by step;
    a step computed again after a resume counts once, the newest."""
    by_step = {e.data["step"]: e.data for e in stage_events(db, run_id, "progress", stage)
               if "step" in e.data}
    return [by_step[step] for step in sorted(by_step)]


def stage_events(db: Database, run_id: int, kind: str, stage: str) -> list[Event]:
    return [Event.from_row(row) for row in db.query(
        "SELECT * FROM events WHERE run_id = ? AND kind = ? AND stage = ? ORDER BY id",
        [run_id, kind, stage])]

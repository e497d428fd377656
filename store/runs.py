"""Runs and their iterations: status, stop requests, metrics, the best iteration."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlite_utils import Database

from store.connection import write
from store.errors import NotFound, UndoError
from store.models import Iteration, Run, RunSummary
from store.predictions import excluded_counts
from store.processes import ACTIVE_STATUSES

RUN_STATUSES = ("created", "running", "stopping", "stopped", "finished", "failed")
# A run that may still write: recorded and not yet started, or active (running, stopping).
STOPPABLE_STATUSES = ("created", *ACTIVE_STATUSES)


def create_run(db: Database, name: str, config: Mapping, *, kind: str = "undo",
               dataset_id: int | None = None, teacher: str | None = None,
               student: str | None = None, source_run_id: int | None = None,
               source_export_id: int | None = None, log_path: str | None = None) -> int:
    with write(db):
        return db.execute(
            "INSERT INTO runs (name, kind, dataset_id, config_json, teacher, student, "
            "source_run_id, source_export_id, log_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [name, kind, dataset_id, json.dumps(dict(config)), teacher, student, source_run_id,
             source_export_id, log_path]).lastrowid


def get_run(db: Database, run_id: int) -> Run:
    rows = list(db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
    if not rows:
        raise NotFound(f"no run {run_id} in this store")
    return Run.from_row(rows[0])


def find_run(db: Database, ref: str | int) -> Run:
    """A run named the way a user types it: its id (digits), else its name.

    Not found (or an ambiguous name): the error lists the store's runs, so the next try works.
    """
    text = str(ref).strip()
    if text.isdigit():
        rows = list(db.query("SELECT * FROM runs WHERE id = ?", [int(text)]))
        if rows:
            return Run.from_row(rows[0])
        raise NotFound(f"no run {text} in this store; {_runs_listing(db)}")
    rows = list(db.query("SELECT * FROM runs WHERE name = ? ORDER BY id", [text]))
    if len(rows) == 1:
        return Run.from_row(rows[0])
    if not rows:
        raise NotFound(f"no run named {text!r} in this store; {_runs_listing(db)}")
    ids = ", ".join(str(row["id"]) for row in rows)
    raise UndoError(f"{len(rows)} runs are named {text!r} (ids {ids}); give the id instead")


def _runs_listing(db: Database, limit: int = 10) -> str:
    rows = list(db.query("SELECT id, name, status FROM runs ORDER BY id"))
    if not rows:
        return "it has no runs yet"
    shown = ", ".join(f"{r['id']} {r['name']} ({r['status']})" for r in rows[:limit])
    more = f" and {len(rows) - limit} more (`undo-tui status` lists them)" \
        if len(rows) > limit else ""
    return f"its runs: {shown}{more}"


def list_runs(db: Database) -> list[RunSummary]:
    """Every run, newest first, with its dataset, iteration count and the strict validation
    accuracy of its best iteration (the one the stop rule marked, not the highest number)."""
    rows = db.query(
        "SELECT r.*, d.name AS dataset_name, "
        " (SELECT count(*) FROM iterations i WHERE i.run_id = r.id AND i.k > 0) AS n_iterations,"
        " b.val_accuracy AS best, json_extract(b.metrics_json, '$.val_correct') AS best_correct,"
        " json_extract(b.metrics_json, '$.val_total') AS best_total"
        " FROM runs r LEFT JOIN datasets d ON d.id = r.dataset_id"
        " LEFT JOIN iterations b ON b.run_id = r.id AND b.k = r.best_iteration"
        " ORDER BY r.id DESC")
    excluded = excluded_counts(db)
    out = []
    for row in rows:
        dataset_name = row.pop("dataset_name")
        n = row.pop("n_iterations")
        best, correct, total = row.pop("best"), row.pop("best_correct"), row.pop("best_total")
        less = excluded.get((row["id"], row["best_iteration"], "val"))
        if less is not None and correct is not None and total:
            correct, total = correct - less.correct, total - less.total
            best = correct / total if total > 0 else None
        out.append(RunSummary(Run.from_row(row), dataset_name, n, best, correct, total,
                              best_val_excluded=less.total if less is not None else 0))
    return out


def update_run(db: Database, run_id: int, **fields: Any) -> None:
    """Set columns of a run (status, stage, pid, error, stop_reason, best_iteration, times...)."""
    if "status" in fields and fields["status"] not in RUN_STATUSES:
        raise ValueError(f"unknown run status {fields['status']!r}")
    if "config" in fields:
        fields["config_json"] = json.dumps(fields.pop("config"))
    if not fields:
        return
    assignments = ", ".join(f"{column} = ?" for column in fields)
    with write(db):
        db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", [*fields.values(), run_id])


def request_stop(db: Database, run_id: int) -> None:
    """Ask the engine to stop this run cleanly; it polls `stop_requested` between steps."""
    get_run(db, run_id)
    with write(db):
        db.execute("UPDATE runs SET stop_requested = 1, status = CASE WHEN status = 'running' "
                   "THEN 'stopping' ELSE status END WHERE id = ?", [run_id])


def why_not_stoppable(run: Run) -> str | None:
    """None when asking this run to stop means something; else why not, in the words the TUI
    and `undo-tui stop` both show."""
    if run.status in STOPPABLE_STATUSES:
        return None
    return f"run {run.id} is {run.status}: nothing to stop"


def clear_stop_request(db: Database, run_id: int) -> None:
    with write(db):
        db.execute("UPDATE runs SET stop_requested = 0 WHERE id = ?", [run_id])


def stop_requested(db: Database, run_id: int) -> bool:
    row = db.execute("SELECT stop_requested FROM runs WHERE id = ?", [run_id]).fetchone()
    return bool(row and row[0])


def delete_run(db: Database, run_id: int) -> None:
    """Delete a run with its iterations, rationales, predictions and events (cache rows stay)."""
    get_run(db, run_id)
    with write(db):
        db.execute("DELETE FROM runs WHERE id = ?", [run_id])


# -- iterations ---------------------------------------------------------------------------------

def upsert_iteration(db: Database, run_id: int, k: int, **fields: Any) -> Iteration:
    """Create iteration k of a run if missing, then set the given columns."""
    if "metrics" in fields:
        fields["metrics_json"] = json.dumps(fields.pop("metrics"))
    with write(db):
        db.execute("INSERT OR IGNORE INTO iterations (run_id, k) VALUES (?, ?)", [run_id, k])
        if fields:
            assignments = ", ".join(f"{column} = ?" for column in fields)
            db.execute(f"UPDATE iterations SET {assignments} WHERE run_id = ? AND k = ?",
                       [*fields.values(), run_id, k])
    return get_iteration(db, run_id, k)


def add_teacher_usage(db: Database, run_id: int, k: int, *, calls: int = 0,
                      prompt_tokens: int = 0, completion_tokens: int = 0,
                      cost: float = 0.0) -> None:
    """Add paid teacher calls to an iteration's totals (cache hits are not added)."""
    with write(db):
        db.execute("INSERT OR IGNORE INTO iterations (run_id, k) VALUES (?, ?)", [run_id, k])
        db.execute(
            "UPDATE iterations SET teacher_calls = teacher_calls + ?, "
            "teacher_prompt_tokens = teacher_prompt_tokens + ?, "
            "teacher_completion_tokens = teacher_completion_tokens + ?, "
            "teacher_cost = teacher_cost + ? WHERE run_id = ? AND k = ?",
            [calls, prompt_tokens, completion_tokens, cost, run_id, k])


def get_iteration(db: Database, run_id: int, k: int) -> Iteration:
    rows = list(db.query("SELECT * FROM iterations WHERE run_id = ? AND k = ?", [run_id, k]))
    if not rows:
        raise NotFound(f"run {run_id} has no iteration {k}")
    return _less_excluded(Iteration.from_row(rows[0]), excluded_counts(db, run_id))


def list_iterations(db: Database, run_id: int) -> list[Iteration]:
    excluded = excluded_counts(db, run_id)
    return [_less_excluded(Iteration.from_row(row), excluded)
            for row in db.query("SELECT * FROM iterations WHERE run_id = ? ORDER BY k", [run_id])]


def _less_excluded(it: Iteration, excluded: dict) -> Iteration:
    """The iteration with its excluded examples left out of its scores, at read time.

    The stored metrics count every prediction; an exclusion made or undone after scoring
    changes the scores shown and the next stop decision without rewriting finished iterations.
    (Metrics written back from `it.metrics` stay whole: only `excluded` and the two accuracy
    attributes change here.)
    """
    mine = {split: counts for (_, k, split), counts in excluded.items() if k == it.k}
    if not mine:
        return it
    it = replace(it, excluded=mine)
    accuracy = {}
    for split in ("val", "test"):
        if split in mine:
            counts = it.scored(split)
            accuracy[f"{split}_accuracy"] = counts.correct / counts.total if counts else None
    return replace(it, **accuracy)


def mark_best_iteration(db: Database, run_id: int, k: int | None,
                        beats_base: bool | None = None) -> None:
    """Mark the best trained iteration, and whether it beat the untrained student beyond noise."""
    with write(db):
        db.execute("UPDATE iterations SET is_best = (k = ?) WHERE run_id = ?", [k, run_id])
        db.execute("UPDATE runs SET best_iteration = ?, best_beats_base = ? WHERE id = ?",
                   [k, None if beats_base is None else int(beats_base), run_id])

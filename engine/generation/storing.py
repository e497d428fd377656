"""Store writes the teacher pass needs beyond the store's API (on `store.write` / `db.execute`).

- A failed rationale row must give way to a later success in the same slot (run, iteration,
  example, source, attempt); `store.add_rationales` ignores a row whose slot is taken, so the
  failed one is deleted first, in the same transaction.
- Teacher yield is written here only (record_yield): the iteration's kept/attempted totals and,
  per prompt variant, in its metrics without clobbering other metrics, with the iteration's
  rejected outputs per reason (`teacher_rejected`).
"""

from __future__ import annotations

import json

import store
from store.rationales import NewRationale


Slot = tuple  # (example_id, source, attempt) within one run and iteration


def failed_slots(db, run_id: int, iteration: int) -> set[Slot]:
    """Slots of this run and iteration holding a failed row (a resumed pass may fill them)."""
    rows = db.execute("SELECT example_id, source, attempt FROM rationales WHERE run_id = ? AND "
                      "iteration = ? AND status = 'failed'", [run_id, iteration]).fetchall()
    return {tuple(row) for row in rows}


def put_rationale(db, row: NewRationale, failed: set[Slot]) -> None:
    """Insert one rationale; a failed row in its slot (listed in `failed`) gives way to a result.

    Called once per result on the hot path, so the DELETE only runs where a failed row exists.
    """
    slot = (row.example_id, row.source, row.attempt)
    if row.status == "failed" or slot not in failed:
        store.add_rationales(db, [row])
        if row.status == "failed":
            failed.add(slot)
        return
    with store.write(db):
        db.execute("DELETE FROM rationales WHERE run_id IS ? AND iteration = ? AND "
                   "example_id = ? AND source = ? AND attempt = ? AND status = 'failed'",
                   [row.run_id, row.iteration, *slot])
        store.add_rationales(db, [row])
    failed.discard(slot)


def record_yield(db, run_id: int, iteration: int, variant: str, kept: int, attempted: int) -> None:
    """Set the iteration's teacher yield (all teacher rows) and this variant's in its metrics."""
    total_kept, total_attempted = store.teacher_yield(db, run_id, iteration)
    rejected = store.rejection_counts(db, run_id, iteration)
    with store.write(db):
        store.upsert_iteration(db, run_id, iteration)
        row = db.execute("SELECT metrics_json FROM iterations WHERE run_id = ? AND k = ?",
                         [run_id, iteration]).fetchone()
        metrics = json.loads(row[0]) if row and row[0] else {}
        metrics.setdefault("teacher_yield", {})[variant] = {"kept": kept, "attempted": attempted}
        metrics["teacher_rejected"] = rejected
        db.execute("UPDATE iterations SET metrics_json = ?, teacher_attempted = ?, "
                   "teacher_kept = ? WHERE run_id = ? AND k = ?",
                   [json.dumps(metrics), total_attempted, total_kept, run_id, iteration])

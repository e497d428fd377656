"""An iteration's figures, computed from the stored predictions and rationales.

Accuracy alone misleads with small students (self-distillation mostly teaches the answer format),
so format compliance and per-example fixed/regressed counts are stored beside it.
"""

from __future__ import annotations

import store


def finalize_iteration(db, run_id: int, k: int) -> None:
    iteration = store.get_iteration(db, run_id, k)
    metrics = dict(iteration.metrics)
    fields: dict = {}
    for split in ("val", "test", "train"):
        scored = store.score(db, run_id, k, split)
        if not scored.total:
            continue
        metrics[f"{split}_correct"] = scored.correct
        metrics[f"{split}_total"] = scored.total
        metrics[f"{split}_format"] = scored.format_rate
        if split == "val":
            fields["val_accuracy"] = scored.accuracy
        elif split == "test":
            fields["test_accuracy"] = scored.accuracy
        else:
            metrics["train_accuracy"] = scored.accuracy
    previous = [it.k for it in store.list_iterations(db, run_id) if it.k < k]
    if previous:
        change = store.transitions(db, run_id, "val", previous[-1], k)
        metrics.update(val_fixed=change.fixed, val_regressed=change.regressed,
                       val_still_wrong=change.still_wrong, val_still_right=change.still_right)
    if k >= 1:
        kept, attempted = store.teacher_yield(db, run_id, k)
        if attempted:
            fields.update(teacher_kept=kept, teacher_attempted=attempted)
    store.upsert_iteration(db, run_id, k, metrics=metrics, **fields)

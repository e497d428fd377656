"""An iteration's figures, computed from the stored predictions and rationales.

Accuracy alone misleads with small students (self-distillation mostly teaches the answer format),
so format compliance, the flexible (last-number) score and per-example fixed/regressed counts with
their exact McNemar p-values are stored beside the strict accuracy.
"""

from __future__ import annotations

import store
from engine.grading.stats import mcnemar_exact


def finalize_iteration(db, run_id: int, k: int, epochs: int) -> None:
    """Store iteration k's figures; `epochs` is what one iteration's training runs (the run's
    training.epochs)."""
    iteration = store.get_iteration(db, run_id, k)
    metrics = dict(iteration.metrics)
    fields: dict = {}
    for split in ("val", "test", "train"):
        scored = store.score(db, run_id, k, split)
        if not scored.total:
            continue
        metrics[f"{split}_correct"] = scored.correct  # strict: the headline
        metrics[f"{split}_flexible_correct"] = scored.flexible_correct
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
                       val_still_wrong=change.still_wrong, val_still_right=change.still_right,
                       val_p_vs_previous=mcnemar_exact(change.fixed, change.regressed))
    if k >= 1 and 0 in previous:
        base = store.transitions(db, run_id, "val", 0, k)
        metrics.update(val_fixed_vs_base=base.fixed, val_regressed_vs_base=base.regressed,
                       val_p_vs_base=mcnemar_exact(base.fixed, base.regressed))
    if k >= 1:
        metrics["epochs_spent"] = epochs_spent(db, run_id, k, metrics, epochs)
    # Teacher yield (teacher_kept/teacher_attempted) has one writer: the teacher pass
    # (engine.generation.storing.record_yield), which also records it per prompt variant.
    store.upsert_iteration(db, run_id, k, metrics=metrics, **fields)


def epochs_spent(db, run_id: int, k: int, metrics: dict, epochs: int) -> float:
    """Training epochs this run has spent through iteration k, whatever each iteration started
    from: the budget an equal-budget baseline must match (UNDO from the base model retrains
    each iteration, so its checkpoint's own epochs_total stays at one iteration's epochs)."""
    previous = store.get_iteration(db, run_id, k - 1) if k > 1 else None
    before = float(previous.metrics.get("epochs_spent", 0.0)) if previous else 0.0
    if "train_steps" not in metrics:  # this iteration did not train
        return before
    return before + epochs

"""When to stop iterating: the brief's rule (fail to beat the best by delta, or the cap)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    stop: bool
    reason: str | None
    best_k: int | None


def decide(val_accuracy: dict[int, float | None], delta_points: float,
           max_iterations: int) -> Decision:
    """Decide after the newest trained iteration (k >= 1; k = 0 is the untrained reference).

    The best iteration is the one with the highest validation accuracy (the earliest on ties).
    The loop stops when the newest iteration fails to beat the best earlier one by `delta_points`
    accuracy points, or when it reaches `max_iterations`.
    """
    trained = {k: acc for k, acc in val_accuracy.items() if k >= 1 and acc is not None}
    if not trained:
        return Decision(False, None, None)
    best_k = max(sorted(trained), key=lambda k: (trained[k], -k))
    newest = max(trained)
    earlier = {k: acc for k, acc in trained.items() if k < newest}
    if earlier:
        best_before = max(earlier.values())
        if trained[newest] * 100 < best_before * 100 + delta_points - 1e-9:
            return Decision(True, f"iteration {newest} did not beat the best "
                                  f"({best_before:.1%}) by {delta_points} points", best_k)
    if newest >= max_iterations:
        return Decision(True, f"reached the iteration cap ({max_iterations})", best_k)
    return Decision(False, None, best_k)

"""When to stop iterating, and which iteration is best: decided on strict validation accuracy.

Two rules (`[loop] stop_rule`): "significant" (the default) lets an iteration beat the best only
when its accuracy is higher and an exact McNemar test on the same validation examples gives
p < alpha; "delta" is the brief's original rule (higher by `delta` points), kept for comparison.
The best iteration changes only when it is beaten by the rule, so noise never moves the star, and
the untrained student (iteration 0) is compared with the best trained one: when it is not beaten
beyond noise, the decision says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.grading.stats import DEFAULT_ALPHA, Comparison, compare, format_p


@dataclass(frozen=True)
class Score:
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


# (before k, after k) -> (fixed, regressed) on the validation examples both evaluated.
Pairs = Callable[[int, int], tuple[int, int]]


@dataclass(frozen=True)
class Rule:
    name: str = "significant"  # "significant" | "delta"
    alpha: float = DEFAULT_ALPHA
    delta_points: float = 0.5

    def beats(self, new: Score, best: Score, fixed: int, regressed: int) -> bool:
        if self.name == "delta":
            return new.accuracy * 100 >= best.accuracy * 100 + self.delta_points - 1e-9
        return new.accuracy > best.accuracy and compare(fixed, regressed, self.alpha).significant

    def describe_failure(self, newest: int, best_k: int, best: Score, comparison: Comparison) -> str:
        if self.name == "delta":
            return (f"iteration {newest} did not beat the best (iteration {best_k}, "
                    f"{best.accuracy:.1%}) by {self.delta_points} points")
        return (f"iteration {newest} did not beat the best (iteration {best_k}, "
                f"{best.accuracy:.1%}) beyond noise ({comparison.fixed} fixed, "
                f"{comparison.regressed} regressed, McNemar {format_p(comparison.p_value)}, "
                f"alpha {self.alpha})")


@dataclass(frozen=True)
class Decision:
    stop: bool
    reason: str | None
    best_k: int | None  # the best trained iteration (k >= 1); None before one is evaluated
    # the best trained iteration against the untrained student; None without an iteration 0
    vs_base: Comparison | None = None
    beats_base: bool | None = None


def decide(scores: dict[int, Score], pairs: Pairs, rule: Rule, max_iterations: int) -> Decision:
    """Decide after the newest trained iteration (k >= 1; k = 0 is the untrained student).

    The best trained iteration starts at the first one and moves to a later one only when the
    rule says it beats the current best. The loop stops when the newest iteration (k >= 2) does
    not beat the best earlier one, or at `max_iterations`.
    """
    trained = sorted(k for k, s in scores.items() if k >= 1 and s.total)
    if not trained:
        return Decision(False, None, None)
    best_k = trained[0]
    failure = None
    for k in trained[1:]:
        fixed, regressed = pairs(best_k, k)
        if rule.beats(scores[k], scores[best_k], fixed, regressed):
            best_k, failure = k, None
        else:
            failure = rule.describe_failure(k, best_k, scores[best_k],
                                            compare(fixed, regressed, rule.alpha))
    newest = trained[-1]
    vs_base, beats_base = None, None
    if 0 in scores and scores[0].total:
        vs_base = compare(*pairs(0, best_k), rule.alpha)
        fixed, regressed = vs_base.fixed, vs_base.regressed
        beats_base = rule.beats(scores[best_k], scores[0], fixed, regressed)
    stop_reason = None
    if failure is not None and newest != best_k:
        stop_reason = failure
    elif newest >= max_iterations:
        stop_reason = f"reached the iteration cap ({max_iterations})"
    if stop_reason is not None and beats_base is False:
        stop_reason += "; no trained iteration beat the untrained student " + (
            "beyond noise" if rule.name == "significant" else f"by {rule.delta_points} points")
    return Decision(stop_reason is not None, stop_reason, best_k, vs_base, beats_base)

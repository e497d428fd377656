"""The statistics behind every accuracy and every "better" the product shows.

Validation sets here are small (100-500 examples), where an accuracy's 95% interval is several
points wide; a user must be able to tell noise from progress. Pure functions on counts, no I/O,
safe to import from the TUI. Written by hand (not scipy) because scipy costs ~0.5 s of import in
every CLI and TUI start; tests check these against scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

DEFAULT_ALPHA = 0.05


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion; (0, 1) when n is 0.

    Chosen over the normal (Wald) interval because it stays inside [0, 1] and keeps its coverage
    at accuracies near 0 or 1, which is where small students live.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """Normal-approximation interval of a mean (per-example scores such as chrF): mean +- z*s/sqrt(n).

    Used for text metrics, whose per-example scores are bounded and averaged over 100+ examples,
    where the central limit theorem is a fair approximation; (mean, mean) for fewer than two.
    """
    n = len(values)
    if n == 0:
        return 0.0, 0.0
    mean = sum(values) / n
    if n < 2:
        return mean, mean
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = NormalDist().inv_cdf(0.5 + confidence / 2) * math.sqrt(variance / n)
    return mean - half, mean + half


def binomial_cdf_half(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so large n does not underflow."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    logs = [_log_comb(n, i) - n * math.log(2) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(x - top) for x in logs))


def mcnemar_exact(fixed: int, regressed: int) -> float:
    """Two-sided exact McNemar p-value for paired right/wrong outcomes on the same examples.

    Only the discordant pairs count: `fixed` (wrong before, right after) and `regressed` (right
    before, wrong after). Under "no change" each discordant pair goes either way with
    probability 1/2, so p = 2 * P(X <= min(fixed, regressed)), capped at 1.
    """
    if fixed < 0 or regressed < 0:
        raise ValueError("fixed and regressed counts must be >= 0")
    n = fixed + regressed
    if n == 0:
        return 1.0
    return min(1.0, 2 * binomial_cdf_half(min(fixed, regressed), n))


def min_discordant_for_significance(alpha: float = DEFAULT_ALPHA) -> int:
    """The fewest discordant pairs that can ever be significant (all of them one way): 6 at 0.05."""
    k = 1
    while mcnemar_exact(k, 0) >= alpha:
        k += 1
    return k


def smallest_detectable_points(n: int, alpha: float = DEFAULT_ALPHA) -> float | None:
    """The smallest accuracy change (in points) that can be significant on n paired examples."""
    if n <= 0:
        return None
    return 100 * min_discordant_for_significance(alpha) / n


@dataclass(frozen=True)
class Comparison:
    """A change in accuracy between two evaluations of the same examples."""

    fixed: int
    regressed: int
    p_value: float
    alpha: float = DEFAULT_ALPHA

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha

    @property
    def net(self) -> int:
        return self.fixed - self.regressed

    def verdict(self) -> str:
        """"better", "worse" or "within noise": the words the product uses for a change."""
        if not self.significant or self.net == 0:
            return "within noise"
        return "better" if self.net > 0 else "worse"


def compare(fixed: int, regressed: int, alpha: float = DEFAULT_ALPHA) -> Comparison:
    return Comparison(fixed, regressed, mcnemar_exact(fixed, regressed), alpha)


def beats_base(recorded: bool | None, fixed: int, regressed: int,
               alpha: float = DEFAULT_ALPHA) -> bool:
    """Whether the best trained iteration may be called best against the untrained student:
    as the engine recorded under the run's rule, or (runs decided before that was recorded)
    judged by significance from its fixed/regressed counts."""
    if recorded is not None:
        return recorded
    return compare(fixed, regressed, alpha).verdict() == "better"


def format_accuracy(successes: int, n: int, confidence: float = 0.95, excluded: int = 0) -> str:
    """"5.0% [2.2-11.2] n=100": an accuracy with its interval and n, as shown everywhere;
    "n=98, 2 excluded" when examples a human excluded were left out of n."""
    if n <= 0:
        return "-"
    low, high = wilson_interval(successes, n, confidence)
    return (f"{successes / n:.1%} [{low * 100:.1f}-{high * 100:.1f}] n={n}"
            + (f", {excluded} excluded" if excluded else ""))


def format_p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}" if p < 0.1 else f"p={p:.2f}"


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)

"""Wilson intervals and exact McNemar tests, checked against scipy (the reference, tests only)."""

from __future__ import annotations

import pytest

from engine.grading.stats import (compare, format_accuracy, mcnemar_exact, min_discordant_for_significance,
                          smallest_detectable_points, wilson_interval)

scipy_stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("successes, n", [(0, 1), (0, 100), (3, 100), (5, 100), (50, 100),
                                          (99, 100), (100, 100), (7, 13), (412, 1319)])
@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_wilson_matches_scipy(successes, n, confidence):
    reference = scipy_stats.binomtest(successes, n).proportion_ci(confidence, method="wilson")
    low, high = wilson_interval(successes, n, confidence)
    assert low == pytest.approx(reference.low, abs=1e-9)
    assert high == pytest.approx(reference.high, abs=1e-9)


def test_wilson_known_value_and_edges():
    low, high = wilson_interval(5, 100)  # 5% on 100: the demo's scale, several points wide
    assert (round(low * 100, 1), round(high * 100, 1)) == (2.2, 11.2)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


@pytest.mark.parametrize("fixed, regressed", [(0, 0), (1, 0), (5, 0), (6, 0), (3, 2), (10, 3),
                                              (2, 12), (40, 25), (300, 250), (1000, 900)])
def test_mcnemar_matches_exact_binomial_test(fixed, regressed):
    n = fixed + regressed
    expected = 1.0 if n == 0 else scipy_stats.binomtest(fixed, n, 0.5).pvalue
    assert mcnemar_exact(fixed, regressed) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_significance_needs_six_discordant_pairs_at_five_percent():
    assert min_discordant_for_significance(0.05) == 6
    assert mcnemar_exact(5, 0) == pytest.approx(0.0625)
    assert smallest_detectable_points(100) == pytest.approx(6.0)
    assert smallest_detectable_points(0) is None


def test_comparison_verdicts():
    assert compare(2, 0).verdict() == "within noise"  # "3% -> 5%" on 100 examples
    assert compare(12, 1).verdict() == "better"
    assert compare(1, 12).verdict() == "worse"
    assert compare(0, 0).verdict() == "within noise"


def test_accuracy_is_shown_with_its_interval_and_n():
    assert format_accuracy(5, 100) == "5.0% [2.2-11.2] n=100"
    assert format_accuracy(0, 0) == "-"


@pytest.mark.parametrize("successes, n, confidence", [(-1, 10, 0.95), (11, 10, 0.95),
                                                      (1, -1, 0.95), (1, 10, 1.0), (1, 10, 0.0)])
def test_wilson_interval_refuses_impossible_counts(successes, n, confidence):
    with pytest.raises(ValueError):
        wilson_interval(successes, n, confidence)

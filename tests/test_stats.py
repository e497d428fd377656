"""engine.stats against scipy as the reference (scipy is a test dependency only)."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from engine.stats import wilson_interval


@pytest.mark.parametrize("confidence", [0.95, 0.99, 0.8])
@pytest.mark.parametrize("successes, n", [(0, 1), (1, 1), (0, 10), (3, 100), (5, 100), (50, 100),
                                          (99, 100), (100, 100), (7, 13), (1234, 1319)])
def test_wilson_interval_matches_scipy(successes, n, confidence):
    reference = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    low, high = wilson_interval(successes, n, confidence)
    assert low == pytest.approx(reference.low, abs=1e-12)
    assert high == pytest.approx(reference.high, abs=1e-12)


def test_wilson_interval_is_several_points_wide_at_100_examples():
    # the "3% -> 5%" on 100 validation examples: the intervals overlap widely
    low3, high3 = wilson_interval(3, 100)
    low5, high5 = wilson_interval(5, 100)
    assert low5 < high3 and high5 - low5 > 0.05


def test_wilson_interval_with_no_examples_knows_nothing():
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize("successes, n, confidence", [(-1, 10, 0.95), (11, 10, 0.95),
                                                      (1, -1, 0.95), (1, 10, 1.0), (1, 10, 0.0)])
def test_wilson_interval_refuses_impossible_counts(successes, n, confidence):
    with pytest.raises(ValueError):
        wilson_interval(successes, n, confidence)

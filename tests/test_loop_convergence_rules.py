"""The stop rules on strict accuracy: significance (default) against the old delta rule."""

from __future__ import annotations

from engine.loop.convergence import Rule, Score, decide


def pairs_from(table):
    def pairs(before, after):
        return table[before, after]
    return pairs


SIGNIFICANT = Rule("significant", 0.05)
DELTA = Rule("delta", delta_points=0.5)


def test_a_two_point_gain_on_100_examples_is_noise_under_significance_but_not_delta():
    scores = {0: Score(4, 100), 1: Score(3, 100), 2: Score(5, 100)}
    table = {(1, 2): (3, 1), (0, 1): (1, 2), (0, 2): (3, 2)}
    significant = decide(scores, pairs_from(table), SIGNIFICANT, max_iterations=4)
    assert significant.stop and significant.best_k == 1
    assert "beyond noise" in significant.reason and "McNemar p=0.62" in significant.reason
    delta = decide(scores, pairs_from(table), DELTA, max_iterations=4)
    assert not delta.stop and delta.best_k == 2


def test_a_significant_gain_moves_the_best_and_continues():
    scores = {1: Score(10, 100), 2: Score(25, 100)}
    d = decide(scores, pairs_from({(1, 2): (16, 1)}), SIGNIFICANT, max_iterations=4)
    assert not d.stop and d.best_k == 2 and d.vs_base is None and d.beats_base is None


def test_higher_but_not_significant_never_moves_the_star():
    scores = {1: Score(10, 100), 2: Score(14, 100), 3: Score(15, 100)}
    table = {(1, 2): (5, 1), (1, 3): (6, 1)}
    d = decide(scores, pairs_from(table), SIGNIFICANT, max_iterations=3)
    assert d.best_k == 1 and d.stop


def test_the_untrained_student_is_compared_with_the_best():
    scores = {0: Score(4, 100), 1: Score(5, 100)}
    d = decide(scores, pairs_from({(0, 1): (3, 2)}), SIGNIFICANT, max_iterations=1)
    assert d.stop and d.best_k == 1 and d.beats_base is False
    assert "reached the iteration cap (1)" in d.reason
    assert "no trained iteration beat the untrained student beyond noise" in d.reason
    d = decide({0: Score(4, 100), 1: Score(30, 100)}, pairs_from({(0, 1): (27, 1)}),
               SIGNIFICANT, max_iterations=1)
    assert d.beats_base is True and "untrained" not in d.reason


def test_delta_rule_keeps_the_documented_behaviour():
    pairs = pairs_from({(1, 2): (1, 0)})
    assert not decide({1: Score(100, 1000), 2: Score(105, 1000)}, pairs, DELTA, 4).stop
    d = decide({1: Score(100, 1000), 2: Score(104, 1000)}, pairs, DELTA, 4)
    assert d.stop and d.best_k == 1 and "by 0.5 points" in d.reason


def test_nothing_trained_yet_decides_nothing():
    d = decide({0: Score(4, 100)}, pairs_from({}), SIGNIFICANT, 3)
    assert (d.stop, d.best_k) == (False, None)

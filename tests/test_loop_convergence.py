"""The stopping rule and the choice of validation errors shown to the teacher."""

from __future__ import annotations

from engine.loop.context import ErrorIndex, ValError, select_errors
from engine.loop.convergence import decide


def test_keeps_going_while_improving_by_delta():
    d = decide({0: 0.02, 1: 0.10, 2: 0.12}, delta_points=0.5, max_iterations=4)
    assert not d.stop and d.best_k == 2


def test_stops_when_not_beating_best_by_delta():
    d = decide({1: 0.100, 2: 0.104}, delta_points=0.5, max_iterations=4)
    assert d.stop and d.best_k == 2 and "did not beat" in d.reason
    d = decide({1: 0.20, 2: 0.10}, delta_points=0.5, max_iterations=4)
    assert d.stop and d.best_k == 1


def test_exactly_delta_counts_as_improvement():
    assert not decide({1: 0.100, 2: 0.105}, delta_points=0.5, max_iterations=4).stop


def test_cap_stops_and_base_iteration_is_never_best():
    d = decide({0: 0.9, 1: 0.1, 2: 0.3, 3: 0.5}, delta_points=0.5, max_iterations=3)
    assert d.stop and "cap" in d.reason and d.best_k == 3
    assert decide({0: 0.5}, 0.5, 3).best_k is None


def test_ties_pick_the_earlier_iteration():
    assert decide({1: 0.3, 2: 0.3}, 0.0, 4).best_k == 1


def test_similar_errors_are_the_nearest_questions():
    errors = [ValError(1, "A train travels 60 miles per hour for 3 hours", "120", "180"),
              ValError(2, "Sara bakes 12 cookies and eats 4 cookies", "6", "8"),
              ValError(3, "A car travels 50 miles per hour for 2 hours", "90", "100")]
    index = ErrorIndex(errors)
    picked = select_errors(index, "A bus travels 40 miles per hour for 5 hours", None, 2,
                           "similar", 0, example_id=99)
    assert {e.example_id for e in picked} == {1, 3}
    assert select_errors(index, "x", None, 2, "similar", 0, example_id=1)[0].example_id != 1
    assert select_errors(index, "x", None, 0, "similar", 0, example_id=9) == []


def test_category_and_random_selection_are_seeded():
    errors = [ValError(i, f"q{i}", "1", "2", category="a" if i % 2 else "b") for i in range(10)]
    index = ErrorIndex(errors)
    same = select_errors(index, "q", "a", 3, "category", 7, example_id=100)
    assert all(e.category == "a" for e in same)
    assert same == select_errors(index, "q", "a", 3, "category", 7, example_id=100)
    assert len(select_errors(index, "q", None, 3, "random", 1, example_id=100)) == 3

"""The choice of validation errors shown to the teacher (the stop rules: test_loop_convergence_rules)."""

from __future__ import annotations

from engine.loop.error_selection import ErrorIndex, ValError, select_errors


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

"""The grading case table (issue 13): strict answer, strict verdict and flexible verdict of every
tricky output in tests/fixtures/grading_cases.py, and the measurement that chose math-verify over
the hand-written normaliser for math answers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.grading.answers import grade, math_match_by_hand, numbers_match, stated_answer
from engine.grading.math_equal import math_equal
from tests.fixtures.grading_cases import CASES
from tests.fixtures.teacher_fixtures import ROOT, subprocess_env


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case):
    graded = grade(case.text, case.gold, case.type, case.choices)
    assert (graded.answer, graded.correct, graded.flexible_correct) == (
        case.answer, case.strict, case.flexible)
    if graded.answer is not None:  # flexible only differs where strict found nothing
        assert (graded.flexible_answer, graded.fallback) == (graded.answer, False)
        assert graded.has_answer_line


def test_the_table_is_large_and_covers_every_answer_type():
    assert len(CASES) >= 150
    assert {c.type for c in CASES} == {"number", "math", "choice", "string"}


def verdict_by_hand(predicted: str, gold: str) -> bool:
    same = numbers_match(predicted, gold)
    return math_match_by_hand(predicted, gold) if same is None else same


def verdict_by_math_verify(predicted: str, gold: str) -> bool:
    return math_equal(predicted, gold)


def verdict_numbers_then_math_verify(predicted: str, gold: str) -> bool:
    same = numbers_match(predicted, gold)
    return math_equal(predicted, gold) if same is None else same


COMPARATORS = {
    "hand-written": verdict_by_hand,
    "math-verify": verdict_by_math_verify,
    "numbers, then math-verify": verdict_numbers_then_math_verify,
}


def agreement(answer_type: str) -> dict[str, tuple[int, int]]:
    """(agreeing, n) per comparator over the cases of a type where a strict answer was stated:
    extraction is shared, so only those cases can tell the comparators apart."""
    cases = [c for c in CASES if c.type == answer_type]
    stated = [(c, stated_answer(c.text, c.type, c.choices)) for c in cases]
    stated = [(c, raw) for c, raw in stated if raw is not None]
    return {name: (sum(compare(raw, c.gold) == c.strict for c, raw in stated), len(stated))
            for name, compare in COMPARATORS.items()}


def test_math_answers_use_the_comparator_that_agrees_best_with_the_table():
    results = {t: agreement(t) for t in ("number", "math")}
    for answer_type, scores in results.items():
        print(f"\n{answer_type}: "
              + "; ".join(f"{name} {ok}/{n}" for name, (ok, n) in scores.items()))
    math, number = results["math"], results["number"]
    chosen = math["numbers, then math-verify"][0]
    assert chosen >= max(ok for ok, _ in math.values())  # what answers_match does for math
    assert chosen > math["hand-written"][0]  # math-verify earns its place
    assert number["hand-written"][0] >= number["math-verify"][0]  # numbers stay hand-parsed


def test_grading_numbers_never_imports_math_verify():
    code = ("import sys; from engine.grading.answers import grade; "
            "assert grade('Answer: $1,234', '1234').correct; "
            "assert grade('\\\\boxed{3/4}', '0.75', 'math').correct; "
            "print('math_verify' in sys.modules, 'sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=subprocess_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "False"]

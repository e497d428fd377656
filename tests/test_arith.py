"""The built-in arithmetic task: deterministic, correct, varied, and graded right by our own grader."""

from __future__ import annotations

import operator
import re

import pytest

from engine.grading.answers import grade
from engine.tasks.arith import PEOPLE, TEMPLATES, generate_problems

STEP = re.compile(r"^(.*): (\d+) ([-+*/]) (\d+) = (-?\d+)\.$")
OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def steps_of(rationale: str) -> list[tuple[int, str, int, int]]:
    lines = rationale.splitlines()
    assert lines[-1].startswith("Answer: ")
    parsed = []
    for line in lines[:-1]:
        match = STEP.match(line)
        assert match, f"not a step line: {line!r}"
        parsed.append((int(match[2]), match[3], int(match[4]), int(match[5])))
    return parsed


def test_same_seed_same_problems_and_different_seed_different_problems():
    first = generate_problems(60, [1, 2, 3], seed=7)
    again = generate_problems(60, [1, 2, 3], seed=7)
    other = generate_problems(60, [1, 2, 3], seed=8)
    assert first == again
    assert [e.question for e in first] != [e.question for e in other]


def test_a_problem_does_not_depend_on_how_many_are_generated():
    assert generate_problems(10, 2, seed=3)[:5] == generate_problems(5, 2, seed=3)


def test_ext_ids_are_stable_and_unique():
    problems = generate_problems(6, [1, 3], seed=4)
    assert [e.ext_id for e in problems] == [
        "arith-L1-4-0", "arith-L3-4-1", "arith-L1-4-2", "arith-L3-4-3", "arith-L1-4-4", "arith-L3-4-5",
    ]
    assert all(e.split == "train" for e in problems)


@pytest.mark.parametrize("level", [1, 2, 3])
def test_answers_are_right_by_independent_evaluation(level):
    for example in generate_problems(300, level, seed=11):
        steps = steps_of(example.rationale)
        assert len(steps) == level, example.question
        question_numbers = {int(x) for x in re.findall(r"\d+", example.question)}
        results: set[int] = set()
        for a, op, b, claimed in steps:
            exact = OPS[op](a, b)
            assert exact == claimed, f"{a} {op} {b} != {claimed} in {example.ext_id}"
            assert claimed >= 0
            # every operand comes from the question, an earlier step, or a known constant (legs)
            for operand in (a, b):
                assert operand in question_numbers | results | {2, 4}, (operand, example.question)
            results.add(claimed)
        assert example.answer == example.answer_raw == str(steps[-1][3])


@pytest.mark.parametrize("level", [1, 2, 3])
def test_every_gold_rationale_grades_correct(level):
    for example in generate_problems(200, level, seed=2):
        graded = grade(example.rationale, example.answer)
        assert graded.correct and graded.has_answer_line and graded.rule == "answer_line"


def test_answers_are_whole_non_negative_numbers():
    for example in generate_problems(900, [1, 2, 3], seed=5):
        assert re.fullmatch(r"\d+", example.answer)


def test_variety_of_templates_names_and_objects():
    problems = generate_problems(600, [1, 2, 3], seed=0)
    categories = {e.category for e in problems}
    assert len(categories) == sum(len(t) for t in TEMPLATES.values())
    assert all(len(TEMPLATES[level]) >= 8 for level in (1, 2, 3))
    names = {name for name, _, _ in PEOPLE if any(name in e.question for e in problems)}
    assert len(names) == len(PEOPLE) >= 15
    assert len({e.question for e in problems}) > 590


def test_levels_are_cycled_in_order():
    problems = generate_problems(9, [3, 1, 2], seed=1)
    assert [e.category.split("-")[1] for e in problems] == ["L3", "L1", "L2"] * 3


@pytest.mark.parametrize("levels", [4, [0], []])
def test_bad_levels_are_refused(levels):
    with pytest.raises(ValueError, match="levels"):
        generate_problems(3, levels, seed=0)


def test_repeating_a_level_weights_the_mix():
    """The demo asks for levels (1, 1, 2): two one-step problems for every two-step one."""
    problems = generate_problems(300, [1, 1, 2], seed=0)
    levels = [e.category.split("-")[1] for e in problems]
    assert levels.count("L1") == 200 and levels.count("L2") == 100
    assert len({e.ext_id for e in problems}) == 300

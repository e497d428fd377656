"""The values for a template's `${fields}`, built from an example and the student's work.

Kept apart from the templates so every pass (initial, refined, hinted) words the shared parts the
same way, and a user's template can rely on the same field names.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from store.models import Example

ANSWER_FORMATS = {
    "number": "the final number only, without units",
    "choice": "the letter of the correct choice only",
    "math": "the final result only, in simplest form",
    "string": "the final answer only, in a few words",
}
NO_ERRORS = "(none recorded)"


@dataclass(frozen=True)
class StudentAttempt:
    """What the student produced for a training question in the last iteration."""

    output: str
    answer: str | None
    correct: bool


@dataclass(frozen=True)
class StudentError:
    """A validation question the student got wrong, shown to the teacher as a pattern to fix."""

    question: str
    student_answer: str | None
    gold_answer: str


def prompt_fields(example: Example, answer_type: str, *, previous_rationale: str | None = None,
                  student: StudentAttempt | None = None, errors: Sequence[StudentError] = (),
                  reveal_gold: bool = False) -> dict[str, str | None]:
    """Every field a template may use; ones this pass cannot fill are None (an error if used)."""
    return {
        "question": example.question.strip(),
        "choices": format_choices(example.choices),
        "answer_format": ANSWER_FORMATS.get(answer_type, ANSWER_FORMATS["string"]),
        "previous_rationale": previous_rationale,
        "student_output": None if student is None else (student.output.strip() or "(empty)"),
        "student_answer": None if student is None else (student.answer or "(no final answer)"),
        "student_verdict": None if student is None else ("correct" if student.correct
                                                         else "wrong"),
        "student_result": None if student is None else student_result(student),
        "student_errors": format_errors(errors),
        "gold_answer": example.answer if reveal_gold else None,
    }


def format_choices(choices: Sequence[str] | None) -> str:
    """"" without choices, else a block that follows the question: "\\nChoices:\\nA) ..."."""
    if not choices:
        return ""
    lines = [f"{string.ascii_uppercase[i]}) {choice}" for i, choice in enumerate(choices)]
    return "\nChoices:\n" + "\n".join(lines)


def format_errors(errors: Sequence[StudentError]) -> str:
    if not errors:
        return NO_ERRORS
    blocks = [f"Question: {e.question.strip()}\nStudent's answer: {e.student_answer or '(none)'}"
              f"\nCorrect answer: {e.gold_answer}" for e in errors]
    return "\n\n".join(blocks)


def student_result(student: StudentAttempt) -> str:
    if student.answer is None:
        return "The student gave no final answer."
    verdict = "correct" if student.correct else "wrong"
    return f"The student's final answer was {student.answer}, which is {verdict}."

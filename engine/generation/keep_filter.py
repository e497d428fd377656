"""The keep filter: what a correct teacher output must also be to become training data.

A correct final answer is not enough. Refinements written by a weak teacher (SmolLM2-135M in
sample_runs/demo.db) restate the answer ("Student's answer: 18"), grade the student ("The
student's final answer is 30, which is incorrect."), repeat the text they were shown, or (when
told the answer) open with it. Each rule gives a short code, stored as the row's
`reject_reason` (store.REJECT_REASONS), and can be switched off in the run config's [loop] as
`reject_<code> = false`. Rules run in RULES order; the first that fails names the reason.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

RULES = ("no_derivation", "hint_before_derivation", "talks_about_student", "copies_student",
         "copies_previous")

# difflib's ratio over the text outside answer lines, lower-cased, whitespace collapsed (so a copy
# with a changed answer line is still a copy). Measured with SmolLM2-135M on the demo's questions
# (sample_runs/demo.db): two independent samples of the same question (attempt 0 vs its retry, 48
# pairs) reach at most 0.66, as short rationales share the question's wording and numbers; the
# refinement that repeated its previous version under two framing lines scores 0.78; of 46
# refine_full outputs (the prompt shows the student's work), the 20 at or above 0.75 are all the
# student's work re-emitted, and the copies below it append grading talk ("The student's final
# answer was 4, which is wrong."), which talks_about_student rejects. 0.75 keeps a margin above
# what genuine derivations share.
COPY_SIMILARITY = 0.75

_ANSWER_LINE = re.compile(r"^\W*(?:final\s+)?answer\b", re.IGNORECASE)
# "48 / 2", "6 x $4", "3 packs x 6": an operand may carry up to two unit words before the operator
_OPERATION = re.compile(r"\d\s*(?:[a-z%/]+\s+){0,2}(?:[-+*/×÷^]|\bx\b|\btimes\b)\s*\(?\s*\$?\d",
                        re.IGNORECASE)
# "divide 88 by 8", "multiply 3 by 10", "subtract 24 from 44", "add 2 and 3"
_VERBAL_OPERATION = re.compile(r"\b(?:add|subtract|multiply|multiplying|divide|dividing)\w*\s+"
                               r"(?:\w+\s+){0,2}\$?\d[\d,.]*\s+(?:\w+\s+)?(?:by|and|from|to)\s+"
                               r"(?:\w+\s+){0,2}\$?\d", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_STUDENT = re.compile(r"\bstudent\b", re.IGNORECASE)  # "student", "student's"; not "students"
_STUDENTS_IN_QUESTION = re.compile(r"\bstudents?\b", re.IGNORECASE)
_GRADING = re.compile(
    r"\bwhich (?:is|was) (?:incorrect|wrong|not (?:correct|right))\b"
    r"|\b(?:gets?|got|getting) (?:the answer |it )?(?:right|wrong)\b"
    r"|\b(?:your|my) (?:(?:last|earlier|previous|original) )?"
    r"(?:explanation|answer|message|response|rationale|solution)\b"
    r"|\b(?:the|an?) (?:earlier|previous|original) (?:explanation|answer|rationale|solution)\b"
    r"|^\W*diagnosis\b",
    re.IGNORECASE | re.MULTILINE)
_CORRECT_ANSWER = re.compile(r"\bcorrect (?:final )?answer\b", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Candidate:
    """A correct teacher output and what its prompt showed (None: not shown to the teacher)."""

    text: str
    question: str
    gold: str
    answer_type: str = "number"
    hinted: bool = False
    student_output: str | None = None
    previous: str | None = None


@dataclass(frozen=True)
class Rejection:
    reason: str  # one of RULES
    detail: str  # for the row's error text


def keep_problem(candidate: Candidate, rules: Collection[str] = RULES) -> Rejection | None:
    """The first rule (of those switched on) the output fails; None when it may be kept."""
    for reason in RULES:
        if reason in rules:
            detail = _CHECKS[reason](candidate)
            if detail is not None:
                return Rejection(reason, detail)
    return None


def check_rules(rules: Collection[str]) -> None:
    unknown = set(rules) - set(RULES)
    if unknown:
        raise ValueError(f"keep rules: unknown {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(RULES)}")


def derivation_problem(text: str, question: str, answer_type: str,
                       final_answer: str | None) -> str | None:
    """Why an output only states the answer instead of deriving it; None when it derives it.

    A derivation has working before the final answer line and, for numeric answers, an arithmetic
    operation or an intermediate number (one that is neither in the question nor the final
    answer), and the working arrives at the final answer: a rationale whose steps end elsewhere
    ("3 x 14 = 38 ... Answer: 30") only pasted the answer, which a hinted teacher was told.
    """
    working = "\n".join(_working(text))
    if not working:
        return "states the answer without a derivation (no working before the answer)"
    if answer_type not in ("number", "math"):
        return None
    if derivation_start(working, question, final_answer) is None:
        return "states the answer without a derivation (no calculation or intermediate number)"
    final = _number(final_answer or "")
    if _NUMBER.fullmatch(final) and final not in _numbers(working):
        return f"does not derive the answer (the working never arrives at {final})"
    return None


def derivation_start(text: str, question: str, final_answer: str | None) -> int | None:
    """Offset of the first calculation or intermediate number in `text`; None without one."""
    starts = [match.start() for match in (_OPERATION.search(text),
                                          _VERBAL_OPERATION.search(text)) if match]
    given = set(_numbers(question)) | set(_numbers(final_answer or ""))
    for match in _NUMBER.finditer(text):
        if _number(match.group()) not in given:
            starts.append(match.start())
            break
    return min(starts, default=None)


def copied(text: str, source: str | None) -> float | None:
    """The similarity of `text` to `source` when it is a copy (>= COPY_SIMILARITY), else None."""
    a, b = _comparable(text), _comparable(source or "")
    if not a or not b:
        return None
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    # the cheap upper bounds settle almost every pair before the quadratic ratio()
    if matcher.real_quick_ratio() < COPY_SIMILARITY or matcher.quick_ratio() < COPY_SIMILARITY:
        return None
    ratio = matcher.ratio()
    return ratio if ratio >= COPY_SIMILARITY else None


def _no_derivation(c: Candidate) -> str | None:
    return derivation_problem(c.text, c.question, c.answer_type, c.gold)


def _hint_before_derivation(c: Candidate) -> str | None:
    """A hinted output that states the answer it was told before any working towards it."""
    if not c.hinted:
        return None
    before = _before_final_answer(c.text)
    stated = _first_statement(before, c)
    if stated is None:
        return None
    prefix = before[:stated]
    if c.answer_type in ("number", "math"):
        derived = derivation_start(prefix, c.question, c.gold) is not None
    else:  # a whole line of working came before the statement's line
        derived = bool(prefix[:prefix.rfind("\n") + 1].strip())
    if derived:
        return None
    return f"states the hinted answer {c.gold} before deriving it"


def _talks_about_student(c: Candidate) -> str | None:
    """Talk about the student, the grading or the prompt instead of the problem."""
    if not _STUDENTS_IN_QUESTION.search(c.question):
        match = _STUDENT.search(c.text)
        if match:
            return f"talks about the student ({_context(c.text, match)})"
    match = _GRADING.search(c.text)
    if match:
        return f"talks about the grading ({_context(c.text, match)})"
    for match in _CORRECT_ANSWER.finditer(c.text):
        if derivation_start(c.text[:match.start()], c.question, c.gold) is None:
            return f"gives the correct answer before any derivation ({_context(c.text, match)})"
    return None


def _copies_student(c: Candidate) -> str | None:
    return _copy(c.text, c.student_output, "the student's output")


def _copies_previous(c: Candidate) -> str | None:
    return _copy(c.text, c.previous, "its previous version")


_CHECKS = {"no_derivation": _no_derivation, "hint_before_derivation": _hint_before_derivation,
           "talks_about_student": _talks_about_student, "copies_student": _copies_student,
           "copies_previous": _copies_previous}


def _copy(text: str, source: str | None, what: str) -> str | None:
    ratio = copied(text, source)
    if ratio is None:
        return None
    return f"copies {what} (similarity {ratio:.2f} >= {COPY_SIMILARITY})"


def _first_statement(text: str, c: Candidate) -> int | None:
    """Offset of the first place `text` states the gold answer.

    A numeric gold that is not a number of the question counts wherever it appears; otherwise
    (the question mentions it, or a non-numeric answer) only "answer is/: <gold>" counts.
    """
    gold = _number(c.gold) if c.answer_type in ("number", "math") else None
    if gold and _NUMBER.fullmatch(gold) and gold not in set(_numbers(c.question)):
        for match in _NUMBER.finditer(text):
            if _number(match.group()) == gold:
                return match.start()
        return None
    statement = re.compile(r"\banswer\b\W{0,3}(?:is|was|would be|:|=)?\s*[\$(]?\s*"
                           + re.escape(c.gold.strip()) + r"(?![\w.]\w)", re.IGNORECASE)
    match = statement.search(text)
    return match.start() if match else None


def _working(text: str) -> list[str]:
    """Non-empty lines before the final (last) answer line; an earlier answer line counts."""
    return [line for line in _before_final_answer(text).splitlines() if line.strip()]


def _before_final_answer(text: str) -> str:
    """The text before its last answer line (all of it when it has none)."""
    lines = text.splitlines(keepends=True)
    last = max((i for i, line in enumerate(lines) if _ANSWER_LINE.match(line.strip())),
               default=len(lines))
    return "".join(lines[:last])


def _comparable(text: str) -> str:
    kept = [line for line in text.splitlines() if not _ANSWER_LINE.match(line.strip())]
    return _WHITESPACE.sub(" ", " ".join(kept)).strip().lower()


def _context(text: str, match: re.Match, width: int = 30) -> str:
    """The matched phrase with a little of its line, for the row's error text."""
    start, end = max(match.start() - width, 0), min(match.end() + width, len(text))
    snippet = _WHITESPACE.sub(" ", text[start:end]).strip()
    return f'"{"…" if start else ""}{snippet}{"…" if end < len(text) else ""}"'


def _numbers(text: str) -> list[str]:
    return [_number(n) for n in _NUMBER.findall(text)]


def _number(text: str) -> str:
    """A number's canonical text, so "1,200", "1200." and "1200.0" compare equal."""
    plain = text.strip().replace(",", "").rstrip(".")
    try:
        return format(Decimal(plain).normalize(), "f")
    except InvalidOperation:
        return plain

"""Which teacher outputs become training data (keep policies), and the checks they rely on.

Policies: "correct" keeps gold-correct outputs; "all" keeps every complete output; "retry" keeps
correct ones and samples again (temperature > 0) for examples with nothing kept; "hinted" tells the
teacher the gold answer and keeps correct outputs that actually derive it. A truncated or failed
output is never kept.
"""

from __future__ import annotations

import re

KEEP_POLICIES = ("correct", "all", "retry", "hinted")

_ANSWER_LINE = re.compile(r"^\W*(?:final\s+)?answer\b", re.IGNORECASE)
_SOLUTION_LINE = re.compile(r"^\W*solution\W*?:[\s*_]*(?P<rest>.*)$", re.IGNORECASE)
_OPERATION = re.compile(r"\d\s*(?:[-+*/×÷^]|\bx\b|\btimes\b)\s*\(?\s*\$?\d")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def keep_decision(policy: str, *, status: str, correct: bool | None,
                  derivation_problem: str | None = None) -> bool:
    """Whether one graded output is kept under `policy`."""
    if policy not in KEEP_POLICIES:
        raise ValueError(f"keep policy {policy!r} is not one of {', '.join(KEEP_POLICIES)}")
    if status != "ok":
        return False
    if policy == "all":
        return True
    if policy == "hinted" and derivation_problem is not None:
        return False
    return bool(correct)


def derivation_problem(text: str, question: str, answer_type: str,
                       final_answer: str | None) -> str | None:
    """Why a hinted output only states the answer instead of deriving it; None when it derives it.

    A derivation has at least two lines of working besides the answer line and, for numeric
    answers, an arithmetic operation or an intermediate number (one that is neither in the
    question nor the final answer).
    """
    working = [line for line in text.splitlines()
               if line.strip() and not _ANSWER_LINE.match(line.strip())]
    if len(working) < 2:
        return "states the answer without a derivation (fewer than 2 lines of working)"
    if answer_type not in ("number", "math"):
        return None
    body = "\n".join(working)
    if _OPERATION.search(body):
        return None
    given = set(_numbers(question)) | set(_numbers(final_answer or ""))
    if any(n not in given for n in _numbers(body)):
        return None
    return "states the answer without a derivation (no calculation or intermediate number)"


def split_solution(text: str) -> tuple[str | None, str]:
    """(diagnosis, solution) of a refinement output that put its rationale after "Solution:".

    Only the solution is training data; without the marker (or with nothing after it) the whole
    text is the solution.
    """
    lines = text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        match = _SOLUTION_LINE.match(lines[i])
        if match:
            solution = "\n".join([match.group("rest"), *lines[i + 1:]]).strip()
            if solution:
                return "\n".join(lines[:i]).strip() or None, solution
            break
    return None, text.strip()


def _numbers(text: str) -> list[str]:
    return [n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)]

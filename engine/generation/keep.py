"""Which teacher outputs become training data (keep policies), and why the others do not.

Policies: "correct" keeps gold-correct outputs; "all" keeps every complete output; "retry" keeps
correct ones and samples again (temperature > 0) for examples with nothing kept; "hinted" tells the
teacher the gold answer and keeps correct outputs. Under correct, retry and hinted a correct output
must also pass the keep filter (engine.generation.keep_filter: it derives the answer, does not talk
about the student, copy what it was shown, or open with a hinted answer). "all" keeps every
complete output on purpose (self-distillation, or inspecting raw teacher output), so the filter
does not apply to it. A truncated or failed output is never kept. Every output not kept gets a
reason code (store.REJECT_REASONS).
"""

from __future__ import annotations

import re

KEEP_POLICIES = ("correct", "all", "retry", "hinted")

_SOLUTION_LINE = re.compile(r"^\W*solution\W*?:[\s*_]*(?P<rest>.*)$", re.IGNORECASE)


def check_policy(policy: str) -> None:
    if policy not in KEEP_POLICIES:
        raise ValueError(f"keep policy {policy!r} is not one of {', '.join(KEEP_POLICIES)}")


def reject_reason(policy: str, *, status: str, correct: bool | None,
                  problem: str | None = None) -> str | None:
    """Why one graded output is not kept under `policy` (a REJECT_REASONS code); None: kept.

    `problem` is the keep filter's reason for a correct output (None when it passed or was not
    checked).
    """
    check_policy(policy)
    if status != "ok":
        return status  # "truncated" or "failed"
    if policy == "all":
        return None
    if not correct:
        return "not_correct"
    return problem


def keep_decision(policy: str, *, status: str, correct: bool | None,
                  derivation_problem: str | None = None) -> bool:
    """Whether one graded output is kept under `policy`."""
    return reject_reason(policy, status=status, correct=correct,
                         problem="no_derivation" if derivation_problem else None) is None


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

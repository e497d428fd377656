"""`undo-tui grade FILE.jsonl`: grade model outputs from any tool with the product's own grader.

Each row has `output`, `gold`, and optionally `type` (number, choice, math, string) and `choices`.
It is written back with the strict answer, the rule that found it, strict and flexible verdicts and
format compliance; a summary with 95% Wilson intervals goes to stderr. Every row is checked before
anything is written, so bad input leaves no half-written output. Pure grading: no model code is
imported (math-verify only when a math answer needs it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from store.errors import UndoError


class Row(NamedTuple):
    fields: dict  # the row as read, written back unchanged beside the grading columns
    gold: str
    answer_type: str
    choices: list[str] | None


def add_parser(subparsers) -> argparse.ArgumentParser:
    from engine.grading.answers import ANSWER_TYPES

    parser = subparsers.add_parser(
        "grade",
        help="grade model outputs in a JSONL file (strict and flexible scores)",
        description="Grade each row's `output` against its `gold` answer: strict (the last explicit "
                    "answer marker) and flexible (else the last number), with format compliance. "
                    "Rows are written back as JSONL; a summary line goes to stderr.")
    parser.add_argument("path", type=Path, metavar="FILE.jsonl",
                        help="rows with output, gold and optional type and choices")
    parser.add_argument("--type", dest="answer_type", default="number", choices=ANSWER_TYPES,
                        help="answer type of rows without a `type` field (default: number)")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="write the graded rows here instead of stdout")
    return parser


def run(args) -> int:
    from engine.grading.answers import grade

    rows = read_rows(args.path, args.answer_type)
    graded = []
    for row in rows:
        result = grade(row.fields["output"], row.gold, row.answer_type, row.choices)
        graded.append({**row.fields, "answer": result.answer, "rule": result.rule,
                       "strict_correct": result.correct, "flexible_answer": result.flexible_answer,
                       "flexible_correct": result.flexible_correct,
                       "format_ok": result.has_answer_line})
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in graded)
    if args.out is None:
        sys.stdout.write(lines)
        sys.stdout.flush()
    else:
        _write_atomically(args.out, lines)
    print(summary(graded), file=sys.stderr)
    return 0


def read_rows(path: Path, default_type: str) -> list[Row]:
    """Every non-blank line, checked; UndoError names the file and line at fault."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UndoError(f"{path}: no such file") from None
    except OSError as exc:
        raise UndoError(f"{path}: cannot read it ({exc.strerror})") from None
    rows = []
    for number, raw in enumerate(data.splitlines(), 1):
        if raw.strip():
            try:
                rows.append(_checked(raw, default_type))
            except ValueError as exc:
                raise UndoError(f"{path}, line {number}: {exc}") from None
    if not rows:
        raise UndoError(f"{path}: no rows to grade")
    return rows


def _checked(raw: bytes, default_type: str) -> Row:
    from engine.grading.answers import ANSWER_TYPES

    try:
        row = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg}, column {exc.colno})") from None
    if not isinstance(row, dict):
        raise ValueError("expected a JSON object with `output` and `gold`")
    for name in ("output", "gold"):
        if name not in row or row[name] is None:
            raise ValueError(f"field '{name}' is missing")
    if not isinstance(row["output"], str):
        raise ValueError("field 'output' must be a string")
    if isinstance(row["gold"], (dict, list, bool)):
        raise ValueError("field 'gold' must be a string or a number")
    answer_type = row.get("type") or default_type
    if answer_type not in ANSWER_TYPES:
        raise ValueError(f"type {answer_type!r} is not one of {', '.join(ANSWER_TYPES)}")
    choices = row.get("choices")
    if choices is not None and (not isinstance(choices, list)
                                or not all(isinstance(c, (str, int, float)) for c in choices)):
        raise ValueError("field 'choices' must be a list of strings")
    return Row(row, str(row["gold"]), answer_type,
               None if choices is None else [str(c) for c in choices])


def summary(graded: list[dict]) -> str:
    """One line: n, strict and flexible accuracy and format compliance, each with its interval."""
    n = len(graded)
    parts = [f"{name} {rate(sum(row[key] for row in graded), n)}"
             for name, key in (("strict", "strict_correct"), ("flexible", "flexible_correct"),
                               ("format", "format_ok"))]
    return f"graded {n} rows: " + ", ".join(parts) + " (95% Wilson intervals)"


def rate(successes: int, n: int) -> str:
    """"61/100 = 61.0% [51.2, 70.0]": a share with its count and 95% interval, in percent."""
    from engine.grading.stats import wilson_interval

    low, high = wilson_interval(successes, n)
    return f"{successes}/{n} = {100 * successes / n:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"


def _write_atomically(path: Path, text: str) -> None:
    """Replace `path` only once everything is written: an interrupted run leaves the old file."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UndoError(f"{path}: cannot write there ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""`undo-tui grade FILE.jsonl` run as the installed console script: graded rows, the summary line
with Wilson intervals, and bad input named by file and line (exit 2, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.grading.stats import wilson_interval
from tests.fixtures.teacher_fixtures import ROOT, subprocess_env

FIXTURE = ROOT / "tests" / "fixtures" / "grade_outputs.jsonl"
CONSOLE_SCRIPT = Path(sys.executable).parent / "undo-tui"

# id: (answer, rule, strict_correct, flexible_answer, flexible_correct, format_ok)
EXPECTED = {
    "negated": ("15", "answer_line", False, "15", False, True),
    "fallback-only": (None, None, False, "72", True, False),
    "corrected": ("24", "answer_line", True, "24", True, True),
    "ambiguous": (None, None, False, "6", True, True),
    "currency": ("1234.5", "answer_line", True, "1234.5", True, True),
    "choice": ("C", "choice", True, "C", True, True),
    "math": ("2\\sqrt{2}", "boxed", True, "2\\sqrt{2}", True, True),
    "string": ("eiffel tower", "answer_line", True, "eiffel tower", True, True),
}
COLUMNS = ("answer", "rule", "strict_correct", "flexible_answer", "flexible_correct", "format_ok")


def undo_tui(*args: str, flags=()) -> subprocess.CompletedProcess:
    assert CONSOLE_SCRIPT.is_file(), "the undo-tui console script is not installed beside python"
    return subprocess.run([sys.executable, *flags, str(CONSOLE_SCRIPT), *args], cwd=ROOT,
                          env=subprocess_env(), capture_output=True, text=True, timeout=120)


def interval_text(successes: int, n: int) -> str:
    low, high = wilson_interval(successes, n)
    return f"{successes}/{n} = {100 * successes / n:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"


def test_grades_every_row_and_keeps_its_fields(tmp_path):
    out = tmp_path / "graded.jsonl"
    proc = undo_tui("grade", str(FIXTURE), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    source = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    assert [row["id"] for row in rows] == [row["id"] for row in source]
    for row, original in zip(rows, source):
        assert {k: row[k] for k in original} == original  # gold 72 stays a number, note stays
        assert tuple(row[c] for c in COLUMNS) == EXPECTED[row["id"]], row["id"]
    strict = sum(e[2] for e in EXPECTED.values())
    flexible = sum(e[4] for e in EXPECTED.values())
    formatted = sum(e[5] for e in EXPECTED.values())
    assert proc.stderr.strip() == (
        f"graded 8 rows: strict {interval_text(strict, 8)}, flexible {interval_text(flexible, 8)}, "
        f"format {interval_text(formatted, 8)} (95% Wilson intervals)")


def test_writes_to_stdout_and_the_type_option_sets_the_default(tmp_path):
    path = tmp_path / "letters.jsonl"
    path.write_text(json.dumps({"output": "Answer: b", "gold": "B"}) + "\n"
                    + json.dumps({"output": "Answer: b", "gold": "B", "type": "string"}) + "\n")
    proc = undo_tui("grade", str(path), "--type", "choice")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["answer"], r["strict_correct"]) for r in rows] == [("B", True), ("b", True)]
    assert proc.stderr.startswith("graded 2 rows: strict 2/2 = 100.0% [")


def test_loads_no_model_code():
    proc = undo_tui("grade", str(FIXTURE), flags=("-X", "importtime"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "engine" in imported  # the check sees the command's own imports
    assert not imported & {"torch", "transformers", "peft", "llama_cpp", "datasets", "textual"}


BAD_ROWS = [
    ('{"output": "Answer: 1", "gold": "1"}\n{"output": "Answer: 2", gold: 2}\n',
     "line 2: not JSON"),
    ('{"output": "Answer: 1", "gold": "1"}\n\n{"gold": "3"}\n', "line 3: field 'output' is missing"),
    ('{"output": "Answer: 1"}\n', "line 1: field 'gold' is missing"),
    ('{"output": "Answer: 1", "gold": "1", "type": "integer"}\n',
     "line 1: type 'integer' is not one of number, choice, math, string"),
    ('[1, 2]\n', "line 1: expected a JSON object"),
    ('{"output": 5, "gold": "5"}\n', "line 1: field 'output' must be a string"),
    ('{"output": "B", "gold": "B", "type": "choice", "choices": "ABC"}\n',
     "line 1: field 'choices' must be a list of strings"),
]


@pytest.mark.parametrize("content, message", BAD_ROWS, ids=[m for _, m in BAD_ROWS])
def test_bad_rows_are_named_by_file_and_line_and_nothing_is_written(tmp_path, content, message):
    path = tmp_path / "outputs.jsonl"
    path.write_text(content)
    out = tmp_path / "graded.jsonl"
    out.write_text("an earlier result\n")
    proc = undo_tui("grade", str(path), "--out", str(out))
    assert proc.returncode == 2
    assert f"undo-tui: error: {path}, {message}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.read_text() == "an earlier result\n"


@pytest.mark.parametrize("name, content, message", [
    ("missing.jsonl", None, "no such file"),
    ("empty.jsonl", "\n\n", "no rows to grade"),
])
def test_a_missing_or_empty_file_is_an_error(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    proc = undo_tui("grade", str(path))
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.strip() == f"undo-tui: error: {path}: {message}"

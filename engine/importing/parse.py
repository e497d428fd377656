"""Parsing a whole source: every row checked, bad rows collected, all-or-nothing unless told otherwise."""

from __future__ import annotations

import json
from pathlib import Path

from engine.answers import ANSWER_TYPES as GRADED_TYPES
from engine.importing.model import BadRow, ColumnMapping, ImportFailed, ParsedExample, ParseResult
from engine.importing.readers import FORMATS, RawRow, read_rows
from engine.importing.rows import RowContext, to_example
from engine.importing.splits import SPLIT_CHOICES, split_from_filename

_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_TABULAR = ("csv", "parquet", "hf")  # every row has the same columns

# graded answers, plus free-text references (a source/reference pair per row)
ANSWER_TYPES = (*GRADED_TYPES, "text")


def detect_format(path) -> str:
    """The format a path looks like: by suffix, then by content (GSM8K answers end in "#### N")."""
    path = Path(path)
    if path.is_dir():
        markers = ("dataset_dict.json", "dataset_info.json", "state.json")
        if any((path / m).exists() for m in markers):
            return "hf"
        raise ImportFailed(f"{path}: a directory, but not one written by datasets.save_to_disk")
    if not path.exists():
        raise ImportFailed(f"{path}: no such file or directory")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _detect_json_kind(path, suffix)
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    raise ImportFailed(f"{path}: cannot tell the format from the name; pass --format ({', '.join(FORMATS)})")


def parse_source(
    path: Path,
    fmt: str,
    mapping: ColumnMapping,
    answer_type: str,
    split: str,
    skip_bad: bool = False,
) -> ParseResult:
    """All examples of a source. Without `skip_bad`, any bad row raises ImportFailed naming every one."""
    path = Path(path)
    if fmt == "auto":
        fmt = detect_format(path)
    if answer_type not in ANSWER_TYPES:
        raise ImportFailed(f"answer type {answer_type!r} is not one of {', '.join(ANSWER_TYPES)}")
    if answer_type == "text" and mapping.choices:
        raise ImportFailed("--choices does not go with answer type text (free-text references)")
    if split not in SPLIT_CHOICES:
        raise ImportFailed(f"split {split!r} is not one of {', '.join(SPLIT_CHOICES)}")
    if split == "auto":
        split = split_from_filename(path)
    ctx = RowContext(mapping, answer_type, split, gsm8k=fmt == "gsm8k")
    rows, bad = _parse_rows(path, fmt, ctx)
    rows, duplicates, bad_ids = _drop_duplicates(rows, given_ids=mapping.id is not None)
    bad = sorted(bad + bad_ids, key=lambda b: (b.where, b.line))
    if bad and not skip_bad:
        raise ImportFailed.for_rows(path.name, bad)
    if not rows and not bad:
        raise ImportFailed(f"{path.name}: no rows to import")
    return ParseResult(examples=[e for _, e in rows], skipped=bad, duplicates=duplicates)


Located = tuple[str, ParsedExample]  # ("line" / "row" / "train row", example)


def _parse_rows(path: Path, fmt: str, ctx: RowContext) -> tuple[list[Located], list[BadRow]]:
    rows: list[Located] = []
    bad: list[BadRow] = []
    checked_columns = False
    try:
        for row in read_rows(path, fmt):
            if isinstance(row, BadRow):
                bad.append(row)
                continue
            if fmt in _TABULAR and not checked_columns:
                _check_columns(path, row, ctx.mapping)
                checked_columns = True
            result = to_example(row, ctx)
            if isinstance(result, BadRow):
                bad.append(result)
            else:
                rows.append((row.where, result))
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return rows, bad


def _check_columns(path: Path, row: RawRow, mapping: ColumnMapping) -> None:
    """A table without a mapped column fails once, naming the columns it does have."""
    optional = (mapping.rationale, mapping.choices, mapping.id, mapping.category, mapping.split)
    wanted = mapping.question_fields() + [mapping.answer] + [f for f in optional if f]
    missing = [f for f in wanted if f not in row.record]
    if missing:
        raise ImportFailed(
            f"{path.name}: no column {', '.join(map(repr, missing))} "
            f"(columns: {', '.join(map(str, row.record))}); map fields with --question, --answer, ..."
        )


def _drop_duplicates(
    rows: list[Located], given_ids: bool
) -> tuple[list[Located], int, list[BadRow]]:
    """Repeated ids: a bad row when the source gave the id, a dropped exact copy when it is a hash."""
    first: dict[str, Located] = {}
    kept, bad = [], []
    for where, example in rows:
        seen = first.setdefault(example.ext_id, (where, example))
        if seen[1] is example:
            kept.append((where, example))
        elif given_ids:
            reason = f"duplicate id {example.ext_id!r} (first at {seen[0]} {seen[1].position})"
            bad.append(BadRow(example.position, reason, where))
    return kept, len(rows) - len(kept) - len(bad), bad


def _detect_json_kind(path: Path, suffix: str) -> str:
    """JSON list vs JSON Lines, and GSM8K-style JSON Lines, from the first record."""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        first_line = next((line for line in handle if line.strip()), "")
    if suffix == ".json" and not first_line.lstrip().startswith("{"):
        return "json"
    try:
        record = json.loads(first_line)
    except json.JSONDecodeError:
        return "json" if suffix == ".json" else "jsonl"
    if isinstance(record, dict) and isinstance(record.get("data"), list):
        return "json"
    if isinstance(record, dict) and "####" in str(record.get("answer", "")):
        return "gsm8k"
    return "jsonl"

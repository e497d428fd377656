"""Parsing a whole source: every row checked, bad rows collected, all-or-nothing unless told otherwise."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from engine.grading.answers import ANSWER_TYPES as GRADED_TYPES
from engine.importing.guess import id_field, unmapped_message
from engine.importing.model import BadRow, ColumnMapping, ImportFailed, ParsedExample, ParseResult
from engine.importing.readers import FORMATS, read_rows
from engine.importing.rows import DEFAULT_MAX_ROW_CHARS, TEXT_FIELDS, RowContext, to_example
from engine.importing.splits import SPLIT_CHOICES, split_from_filename

_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}

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
    *,
    dataset: str | None = None,
    auto_id: bool = True,
    max_row_chars: int = DEFAULT_MAX_ROW_CHARS,
) -> ParseResult:
    """All examples of a source. Without `skip_bad`, any bad row raises ImportFailed naming every one.

    Without an --id mapping, an id-like field (id, ID, qid, ...) gives the ids when `auto_id`.
    """
    path = Path(path)
    if fmt == "auto":
        fmt = detect_format(path)
    if answer_type not in ANSWER_TYPES:
        raise ImportFailed(f"answer type {answer_type!r} is not one of {', '.join(ANSWER_TYPES)}")
    if answer_type == "text" and mapping.choices:
        raise ImportFailed("--choices does not go with answer type text (free-text references)")
    if split not in SPLIT_CHOICES:
        raise ImportFailed(f"split {split!r} is not one of {', '.join(SPLIT_CHOICES)}")
    if max_row_chars < 0:
        raise ImportFailed(f"--max-row-chars must be 0 (no limit) or more, got {max_row_chars}")
    if split == "auto":
        split = split_from_filename(path)
    ctx = RowContext(mapping, answer_type, split, gsm8k=fmt == "gsm8k",
                     max_row_chars=max_row_chars)
    rows, bad, fields = _parse_rows(path, fmt, ctx, auto_id and mapping.id is None)
    absent = [f for f in _wanted(ctx.mapping) if not _present(f, fields, answer_type)]
    if absent and fields:
        raise ImportFailed(unmapped_message(path.name, str(path), dataset, absent, list(fields)))
    rows, duplicates, bad_ids = _drop_duplicates(rows, given_ids=ctx.mapping.id is not None)
    bad = sorted(bad + bad_ids, key=lambda b: (b.where, b.line))
    if bad and not skip_bad:
        raise ImportFailed.for_rows(path.name, bad, good=len(rows),
                                    hints=_hints(bad, answer_type))
    if not rows and not bad:
        raise ImportFailed(f"{path.name}: no rows to import")
    return ParseResult(examples=[e for _, e in rows], skipped=bad, duplicates=duplicates,
                       id_field=ctx.mapping.id)


Located = tuple[str, ParsedExample]  # ("line" / "row" / "train row", example)


def _parse_rows(path: Path, fmt: str, ctx: RowContext,
                auto_id: bool) -> tuple[list[Located], list[BadRow], dict[str, None]]:
    """Parsed rows, bad rows, and every field name seen (in first-seen order)."""
    rows: list[Located] = []
    bad: list[BadRow] = []
    fields: dict[str, None] = {}
    try:
        for row in read_rows(path, fmt):
            if isinstance(row, BadRow):
                bad.append(row)
                continue
            if not fields and auto_id:
                found = id_field(row.record)
                if found is not None:
                    ctx.mapping = dataclasses.replace(ctx.mapping, id=found)
            fields.update(dict.fromkeys(row.record))
            result = to_example(row, ctx)
            if isinstance(result, BadRow):
                bad.append(result)
            else:
                rows.append((row.where, result))
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return rows, bad, fields


def _wanted(mapping: ColumnMapping) -> list[str]:
    optional = (mapping.rationale, mapping.choices, mapping.id, mapping.category, mapping.split)
    return mapping.question_fields() + [mapping.answer] + [f for f in optional if f]


def _present(field: str, fields: dict, answer_type: str) -> bool:
    """A mapped field some row has; free text may name question/answer source/reference."""
    return field in fields or (answer_type == "text" and TEXT_FIELDS.get(field) in fields)


LETTER_ANSWER = re.compile(r"^answer '[A-Ja-j]' is not a number$")


def _hints(bad: list[BadRow], answer_type: str) -> list[str]:
    """Advice for a pattern in the bad rows: choice letters imported as numbers."""
    letters = sum(1 for row in bad if LETTER_ANSWER.match(row.reason))
    if answer_type == "number" and letters * 2 >= len(bad):
        return ["The answers look like choice letters: pass --answer-type choice (and "
                "--choices FIELD when a field lists the options)."]
    return []


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

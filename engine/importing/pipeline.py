"""Importing a parsed source into the store: splits decided, then all rows written in one transaction.

Parsing finishes (and fails, naming every bad row) before anything is written, so a failed import
leaves the store exactly as it was. Re-importing the same source adds nothing: ids are stable and
the store ignores ids it already holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

import store
from engine.importing.model import (BadRow, ColumnMapping, ImportFailed, ParsedExample,
                                    content_id)
from engine.importing.parse import detect_format, parse_source
from engine.importing.rows import DEFAULT_MAX_ROW_CHARS
from engine.importing.splits import SPLITS, carve_split, default_val_size


@dataclass
class ImportSummary:
    dataset: str
    dataset_id: int
    source: str
    fmt: str
    read: int  # examples parsed from the source
    inserted: int
    already_present: int
    skipped: list[BadRow] = field(default_factory=list)
    duplicates: int = 0
    id_field: str | None = None  # the source field the ids came from (None: content hashes)
    carved: dict[str, int] = field(default_factory=dict)  # split -> examples moved there from train
    counts: dict[str, int] = field(default_factory=dict)  # the dataset's examples per split, after


def import_dataset(
    db: Database,
    path: Path,
    fmt: str,
    dataset: str,
    mapping: ColumnMapping,
    answer_type: str,
    split: str,
    val_size: int | None,
    seed: int,
    skip_bad: bool,
    val_fraction: float | None = None,
    *,
    auto_id: bool = True,
    max_row_chars: int = DEFAULT_MAX_ROW_CHARS,
) -> ImportSummary:
    """Parse `path` and add its examples to `dataset`, carving a validation split if it has none.

    `val_size` None means the default (10% of train, at most 500) and `val_fraction` overrides it;
    no split is carved when the source or the stored dataset already has validation examples.
    An id-like field gives the ids (`auto_id`) unless the dataset was imported with content
    hashes before (re-importing must find the same ids).
    """
    path = Path(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    parsed = parse_source(path, fmt, mapping, answer_type, split, skip_bad, dataset=dataset,
                          auto_id=auto_id and not _uses_content_ids(db, dataset),
                          max_row_chars=max_row_chars)
    examples, clashes = _without_id_clashes(db, dataset, parsed.examples, fmt)
    if clashes and not skip_bad:
        raise ImportFailed.for_rows(path.name, clashes, good=len(examples))
    carved = {}
    if not _has_val(db, dataset, examples):
        examples, carved = _carve(examples, "val", _val_size(examples, val_size, val_fraction), seed)
    summary = store_examples(db, dataset, answer_type, f"{fmt}:{path.resolve()}", examples)
    return dataclasses.replace(summary, source=path.name, fmt=fmt, skipped=parsed.skipped + clashes,
                               duplicates=parsed.duplicates, carved=carved,
                               id_field=parsed.id_field)


def import_builtin(
    db: Database,
    name: str,
    dataset: str,
    n: int,
    levels: Sequence[int],
    seed: int,
    val_size: int | None = None,
    test_size: int | None = None,
    val_fraction: float | None = None,
) -> ImportSummary:
    """Generate a built-in task and store it with test and validation splits carved from it."""
    if name != "arith":
        raise ImportFailed(f"no built-in task {name!r}; the built-in tasks are: arith")
    from engine.tasks.arith import generate_problems

    if n <= 0:
        raise ImportFailed(f"--n must be positive, got {n}")
    try:
        examples = generate_problems(n, list(levels), seed)
    except ValueError as exc:
        raise ImportFailed(f"arith: {exc}") from exc
    test_size = default_val_size(n) if test_size is None else test_size
    examples, carved_test = _carve(examples, "test", test_size, seed)
    examples, carved_val = _carve(examples, "val", _val_size(examples, val_size, val_fraction), seed)
    source = f"builtin:arith levels={','.join(map(str, levels))} seed={seed}"
    summary = store_examples(db, dataset, "number", source, examples)
    return dataclasses.replace(summary, source="builtin arith", fmt="builtin",
                               carved={**carved_test, **carved_val})


def store_examples(
    db: Database, dataset: str, answer_type: str, source: str, examples: list[ParsedExample]
) -> ImportSummary:
    """Create the dataset if needed and insert the examples, both in one transaction."""
    with store.write(db):
        dataset_id = store.get_or_create_dataset(db, dataset, answer_type, source)
        inserted = store.add_examples(db, dataset_id, (dataclasses.asdict(e) for e in examples))
    return ImportSummary(
        dataset=dataset,
        dataset_id=dataset_id,
        source=source,
        fmt="",
        read=len(examples),
        inserted=inserted,
        already_present=len(examples) - inserted,
        counts=store.count_examples(db, dataset_id),
    )


def _val_size(examples: list[ParsedExample], val_size: int | None, val_fraction: float | None) -> int:
    train = sum(1 for e in examples if e.split == "train")
    if val_fraction is not None:
        if not 0 <= val_fraction < 1:
            raise ImportFailed(f"--val-fraction must be at least 0 and below 1, got {val_fraction}")
        return round(train * val_fraction)
    if val_size is None:
        return default_val_size(train)
    if val_size < 0:
        raise ImportFailed(f"--val-size must be 0 or more, got {val_size}")
    return val_size


def _carve(
    examples: list[ParsedExample], target: str, size: int, seed: int
) -> tuple[list[ParsedExample], dict[str, int]]:
    if size <= 0:
        return examples, {}
    carved = carve_split(examples, size, seed, target)
    moved = sum(1 for before, after in zip(examples, carved) if before.split != after.split)
    return carved, {target: moved} if moved else {}


def _has_val(db: Database, dataset: str, examples: list[ParsedExample]) -> bool:
    """The source brings its own validation split, or the stored dataset has one already."""
    if any(e.split == "val" for e in examples):
        return True
    try:
        existing = store.get_dataset(db, dataset)
    except store.NotFound:
        return False
    return existing.counts.get("val", 0) > 0


def _uses_content_ids(db: Database, dataset: str) -> bool:
    """The stored dataset's ids are hashes of question and answer (imported without ids)."""
    try:
        dataset_id = store.get_dataset(db, dataset).id
    except store.NotFound:
        return False
    row = db.execute("SELECT ext_id, question, answer_raw FROM examples WHERE dataset_id = ? "
                     "ORDER BY id LIMIT 1", [dataset_id]).fetchone()
    return row is not None and row[0] == content_id(row[1], row[2] or "")


def _without_id_clashes(
    db: Database, dataset: str, examples: list[ParsedExample], fmt: str
) -> tuple[list[ParsedExample], list[BadRow]]:
    """Examples whose id the dataset already holds for a different question are bad rows.

    Without this check the store would silently keep the old example (ids are unique per dataset),
    e.g. when a test file numbers its ids 0..n just like the train file did.
    """
    try:
        dataset_id = store.get_dataset(db, dataset).id
    except store.NotFound:
        return examples, []
    stored = {
        e.ext_id: e
        for split in SPLITS
        for e in store.load_examples(db, dataset_id, split)
    }
    where = "line" if fmt in ("gsm8k", "jsonl", "csv") else "row"
    kept, clashes = [], []
    for example in examples:
        old = stored.get(example.ext_id)
        if old is not None and old.question != example.question:
            clashes.append(BadRow(example.position, f"id {example.ext_id!r} is already used in dataset "
                                  f"'{dataset}' by another question ({old.split} split)", where))
        else:
            kept.append(example)
    return kept, clashes

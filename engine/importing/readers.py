"""Reading raw records out of each source format, with their line or row number.

A reader yields `RawRow`s, or `BadRow`s for records it cannot read at all (invalid JSON, a value that
is not an object). Whole-file problems (no such file, not a dataset directory) raise ImportFailed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.files import jsonl_records
from engine.importing.model import BadRow, ImportFailed
from engine.importing.splits import split_name

FORMATS = ("gsm8k", "jsonl", "json", "csv", "parquet", "hf")


@dataclass
class RawRow:
    position: int
    record: dict
    where: str = "line"
    split: str | None = None  # the split a multi-split source (HF DatasetDict) put this row in


def read_rows(path: Path, fmt: str) -> Iterator[RawRow | BadRow]:
    """Every record of `path` read as format `fmt`."""
    readers = {
        "gsm8k": _read_jsonl,
        "jsonl": _read_jsonl,
        "json": _read_json,
        "csv": _read_csv,
        "parquet": _read_parquet,
        "hf": _read_hf,
    }
    if fmt not in readers:
        raise ImportFailed(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
    if not path.exists():
        raise ImportFailed(f"{path}: no such file or directory")
    return readers[fmt](path)


def _read_jsonl(path: Path) -> Iterator[RawRow | BadRow]:
    with _open_text(path) as handle:
        for number, record in jsonl_records(handle):
            if isinstance(record, json.JSONDecodeError):
                yield BadRow(number, f"invalid JSON ({record.msg} at column {record.colno})")
            else:
                yield _as_row(number, record, "line")


def _read_json(path: Path) -> Iterator[RawRow | BadRow]:
    with _open_text(path) as handle:
        try:
            data = json.load(handle)
        except json.JSONDecodeError as exc:
            raise ImportFailed(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        keys = f" (keys: {', '.join(map(str, data))})" if isinstance(data, dict) else ""
        raise ImportFailed(f"{path}: expected a list of objects or {{\"data\": [...]}}{keys}")
    for number, record in enumerate(data, start=1):
        yield _as_row(number, record, "row")


def _read_csv(path: Path) -> Iterator[RawRow | BadRow]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with _open_text(path, newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        try:
            if reader.fieldnames is None:
                return
            start = reader.line_num + 1
            for record in reader:
                if None in record:  # more cells than header columns
                    yield BadRow(start, f"{len(reader.fieldnames) + len(record[None])} cells, "
                                        f"the header has {len(reader.fieldnames)}")
                else:
                    yield RawRow(start, record, "line")
                start = reader.line_num + 1
        except csv.Error as exc:
            raise ImportFailed(f"{path}: line {reader.line_num}: {exc}") from exc


def _read_parquet(path: Path) -> Iterator[RawRow | BadRow]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for unreadable files
        raise ImportFailed(f"{path}: not a readable Parquet file ({exc})") from exc
    for number, record in enumerate(table.to_pylist(), start=1):
        yield RawRow(number, record, "row")


def _read_hf(path: Path) -> Iterator[RawRow | BadRow]:
    """A `datasets.save_to_disk` directory: one Dataset, or a DatasetDict of named splits."""
    from datasets import DatasetDict, load_from_disk

    try:
        loaded = load_from_disk(str(path))
    except Exception as exc:  # datasets raises FileNotFoundError and others for non-dataset dirs
        raise ImportFailed(f"{path}: not a datasets.save_to_disk directory ({exc})") from exc
    parts = loaded.items() if isinstance(loaded, DatasetDict) else [(None, loaded)]
    for name, dataset in parts:
        split = None
        if name is not None:
            split = split_name(name)
            if split is None:
                raise ImportFailed(
                    f"{path}: split {name!r} is not train, validation/val/dev or test; "
                    f"save only the splits to import"
                )
        for number, record in enumerate(dataset, start=1):
            yield RawRow(number, record, f"{name} row" if name else "row", split)


def _as_row(number: int, record, where: str) -> RawRow | BadRow:
    if not isinstance(record, dict):
        return BadRow(number, f"expected a JSON object, got {type(record).__name__}", where)
    return RawRow(number, record, where)


def _open_text(path: Path, newline: str | None = None):
    if path.is_dir():
        raise ImportFailed(f"{path}: is a directory; use --format hf for a datasets directory")
    return path.open(encoding="utf-8-sig", newline=newline)

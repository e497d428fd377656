"""Rows on disk: JSONL, a JSON list, Parquet, or a `datasets` save_to_disk directory.

Writers write to the (temporary) path they are given and nothing else; the writer module decides
when that path becomes the final one. Readers return (row number, row) pairs so every error can
name the row. `datasets` is imported only here and only when needed: the CLI starts fast.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from engine.export.errors import BadExportFile
from engine.files import jsonl_records

ToRow = Callable[[dict], dict]


def encode_line(row: dict) -> str:
    """One JSONL line (UTF-8 text kept as is, so a reader sees the rationale unescaped)."""
    return json.dumps(row, ensure_ascii=False) + "\n"


def write_rows(storage: str, records: Iterable[dict], to_row: ToRow, path: Path) -> None:
    if storage == "jsonl":
        _write_jsonl((to_row(r) for r in records), path)
    elif storage == "json":
        _write_json([to_row(r) for r in records], path)
    elif storage == "parquet":
        with _quiet():
            _dataset([to_row(r) for r in records]).to_parquet(str(path))
    elif storage == "hf":
        with _quiet():
            _dataset([to_row(r) for r in records]).save_to_disk(str(path))
    else:
        raise ValueError(f"unknown storage {storage!r}")


def _write_jsonl(rows: Iterable[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(encode_line(row))


def _write_json(rows: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(rows, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


def _dataset(rows: list[dict]):
    from datasets import Dataset

    return Dataset.from_list(rows)


@contextlib.contextmanager
def _quiet():
    """No datasets progress bars on the command line's output while we write."""
    import datasets

    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


def read_rows(storage: str, path: Path) -> Iterator[tuple[int, dict]]:
    """(1-based row or line number, row) for every row of an export's data."""
    if storage == "jsonl":
        yield from _read_jsonl(path)
    elif storage == "json":
        yield from _read_json(path)
    elif storage == "parquet":
        import pyarrow.parquet as pq

        yield from enumerate(pq.read_table(str(path)).to_pylist(), start=1)
    elif storage == "hf":
        from datasets import load_from_disk

        yield from enumerate(load_from_disk(str(path)).to_list(), start=1)
    else:
        raise ValueError(f"unknown storage {storage!r}")


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with open(path, encoding="utf-8") as handle:
        for number, row in jsonl_records(handle):
            if isinstance(row, json.JSONDecodeError):
                raise BadExportFile(f"{path}, line {number}: not valid JSON ({row.msg})")
            if not isinstance(row, dict):
                raise BadExportFile(f"{path}, line {number}: expected a JSON object")
            yield number, row


def _read_json(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadExportFile(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(rows, list):
        raise BadExportFile(f"{path}: expected a JSON list of objects")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise BadExportFile(f"{path}, row {number}: expected a JSON object")
        yield number, row

"""Read an export back as records (question, answer, rationale and provenance), whatever its format.

This is what a transfer run trains from and what the re-import builds examples from. The format
comes from the manifest; without one (a file copied on its own) it is recognised from the suffix
and the first row's keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from engine.export.errors import BadExportFile, ExportError
from engine.export.formats import Format, get_format
from engine.export.manifest import find_manifest, read_manifest
from engine.export.storage import read_rows


def load_export(path: Path, *, verify: bool = True) -> list[dict]:
    """Every record of the export at `path` (a data file or an hf directory), in file order.

    With `verify`, a data file whose sha256 differs from its manifest's is refused: it is not the
    data that manifest describes (an interrupted --force export, or a hand edit).
    """
    return [row.record for row in iter_export(path, verify=verify)]


class ExportRow(NamedTuple):
    number: int  # 1-based line (JSONL) or row (other storages)
    where: str  # "<path>, line 3": how an error names this row
    record: dict


def iter_export(path: Path, *, verify: bool = True) -> Iterator[ExportRow]:
    """The records with their row numbers, so callers can name the row at fault."""
    path = Path(path)
    if not path.exists():
        raise ExportError(f"{path}: no such export file or directory")
    manifest = read_manifest(path)
    fmt = get_format(manifest["format"]) if manifest else get_format(detect_format(path))
    if manifest and verify:
        _verify(path, manifest)
    where = "line" if fmt.storage == "jsonl" else "row"
    for number, row in read_rows(fmt.storage, path):
        location = f"{path}, {where} {number}"
        yield ExportRow(number, location, _record(fmt, row, location))


def _record(fmt: Format, row: dict, where: str) -> dict:
    try:
        return fmt.from_row(row)
    except ValueError as exc:
        raise BadExportFile(f"{where}: not a {fmt.name} row ({exc})") from None


def _verify(path: Path, manifest: dict) -> None:
    from engine.files import sha256_of

    expected = manifest.get("data_sha256")
    if expected and path.is_file() and sha256_of(path) != expected:
        raise BadExportFile(
            f"{path} does not match its manifest {find_manifest(path)} (sha256 differs): an "
            "export replacing it was interrupted, or the file was edited. Export again, or "
            "delete the manifest to read the file as it is.")


def detect_format(path: Path) -> str:
    """The export format of a data file without a manifest, from its suffix and first row."""
    path = Path(path)
    if path.is_dir():
        return "hf"
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    first = _first_row(path, suffix)
    keys = set(first) if isinstance(first, dict) else set()
    if suffix == ".jsonl" and "messages" in keys:
        return "trl-messages"
    if suffix == ".jsonl" and {"prompt", "completion"} <= keys:
        return "trl-prompt-completion"
    if suffix == ".json" and "conversations" in keys:
        return "llamafactory-sharegpt"
    if suffix == ".json" and {"instruction", "output"} <= keys:
        return "llamafactory-alpaca"
    raise ExportError(f"{path}: cannot tell which export format this is (no manifest beside it, "
                      "and its first row matches none)")


def _first_row(path: Path, suffix: str):
    try:
        if suffix == ".jsonl":
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        return json.loads(line)
            return None
        if suffix == ".json":
            rows = json.loads(path.read_text(encoding="utf-8"))
            return rows[0] if isinstance(rows, list) and rows else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadExportFile(f"{path}: not valid JSON ({exc})") from None
    return None

"""An export read back as dataset examples (issue 6, part 3: the round trip).

The records have the fields `store.add_examples` takes (and that the importer's ParsedExample has):
the exported rationale becomes the new example's gold rationale, and the gold answer travels in
the export's `answer` column, so a re-imported set can still be graded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from engine.export.errors import BadExportFile
from engine.export.loading import iter_export
from engine.export.manifest import read_manifest

SPLITS = ("train", "val", "test")


def records_from_export(path: Path, *, verify: bool = True) -> list[dict]:
    """One dict per exported row: ext_id, split, question, answer, answer_raw, rationale,
    choices, category, position (the 1-based line or row in the file)."""
    records = []
    for row in iter_export(path, verify=verify):
        records.append(_example(row.record, row.number, row.where))
    return records


def export_answer_type(path: Path) -> str | None:
    """The answer type of the dataset the export came from (from its manifest), if known."""
    manifest = read_manifest(Path(path)) or {}
    return (manifest.get("dataset") or {}).get("answer_type")


def _example(record: dict, number: int, where: str) -> dict:
    question = _text(record.get("question"), "question", where)
    answer = _text(record.get("answer"), "answer", where)
    split = record.get("split") or "train"
    if split not in SPLITS:
        raise BadExportFile(f"{where}: split {split!r} is not one of {', '.join(SPLITS)}")
    answer_raw = record.get("answer_raw")
    return {
        "ext_id": str(record.get("ext_id") or content_id(question, answer)),
        "split": split,
        "question": question,
        "answer": answer,
        "answer_raw": str(answer_raw) if answer_raw not in (None, "") else answer,
        "rationale": _text(record.get("rationale"), "rationale", where),
        "choices": record.get("choices"),
        "category": record.get("category"),
        "position": number,
    }


def _text(value, name: str, where: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        hint = " (the gold answer travels in the `answer` column)" if name == "answer" else ""
        raise BadExportFile(f"{where}: no {name}{hint}")
    return value


def content_id(question: str, answer: str) -> str:
    """The importer's rule for rows without an id: sha1 of question, unit separator, answer."""
    return hashlib.sha1(f"{question}\x1f{answer}".encode()).hexdigest()

"""The export formats, one module each; this registry maps a format name to its description.

A format says how a flat export record becomes one of its rows (`to_row`), how such a row becomes a
record again (`from_row`, used by load_export and the re-import), and how rows are stored on disk
(`storage`: jsonl, json, parquet or an hf save_to_disk directory).
"""

from __future__ import annotations

from engine.export.errors import ExportError
from engine.export.formats import (hf_disk, llamafactory_alpaca, llamafactory_sharegpt, parquet,
                                   trl_messages, trl_prompt_completion)
from engine.export.formats.base import Format

FORMATS = {module.FORMAT.name: module.FORMAT for module in (
    trl_messages, trl_prompt_completion, hf_disk, parquet, llamafactory_alpaca,
    llamafactory_sharegpt)}
FORMAT_NAMES = tuple(FORMATS)

__all__ = ["FORMATS", "FORMAT_NAMES", "Format", "all_formats", "get_format"]


def get_format(name: str) -> Format:
    if name not in FORMATS:
        raise ExportError(f"unknown export format {name!r}; "
                          f"choose one of {', '.join(FORMAT_NAMES)}")
    return FORMATS[name]


def all_formats() -> list[Format]:
    return list(FORMATS.values())

"""The export formats, one module each; this registry maps a format name to its description.

A format says how a flat export record becomes one of its rows (`to_row`), how such a row becomes a
record again (`from_row`, used by load_export and the re-import), and how rows are stored on disk
(`storage`: jsonl, json, parquet or an hf save_to_disk directory).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.export.errors import ExportError


@dataclass(frozen=True)
class Format:
    name: str
    storage: str  # "jsonl" | "json" | "parquet" | "hf"
    suffix: str  # the usual file suffix; "" for a directory
    to_row: Callable[[dict], dict]
    from_row: Callable[[dict], dict]
    description: str
    # LLaMA-Factory formats: the dataset_info.json entry for a data file name (written beside it)
    dataset_info_entry: Callable[[str], dict] | None = None

    @property
    def is_directory(self) -> bool:
        return self.storage == "hf"


def _registry() -> dict[str, Format]:
    from engine.export.formats import (hf_disk, llamafactory_alpaca, llamafactory_sharegpt,
                                       parquet, trl_messages, trl_prompt_completion)

    modules = (trl_messages, trl_prompt_completion, hf_disk, parquet, llamafactory_alpaca,
               llamafactory_sharegpt)
    return {module.FORMAT.name: module.FORMAT for module in modules}


FORMAT_NAMES = ("trl-messages", "trl-prompt-completion", "hf", "parquet", "llamafactory-alpaca",
                "llamafactory-sharegpt")


def get_format(name: str) -> Format:
    formats = _registry()
    if name not in formats:
        raise ExportError(f"unknown export format {name!r}; "
                          f"choose one of {', '.join(FORMAT_NAMES)}")
    return formats[name]


def all_formats() -> list[Format]:
    formats = _registry()
    return [formats[name] for name in FORMAT_NAMES]

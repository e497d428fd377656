"""What an export format is: how a flat export record becomes one of its rows and back, and how
its rows are stored. Each format module defines one (FORMAT); the package lists them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


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

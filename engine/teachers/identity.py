"""A teacher's model identity for the call cache: a GGUF's content hash, or API endpoint + model.

Hashing a multi-GB GGUF takes a while, so the hash is remembered in a small JSON file keyed by the
file's path, size and modification time; a changed file is hashed again.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.files import remembered_sha256

HASH_CACHE_NAME = "gguf-hashes.json"


def cache_dir() -> Path:
    """${UNDO_TUI_CACHE}, else ~/.cache/undo-tui (shared with the setup script's wheel cache)."""
    env = os.environ.get("UNDO_TUI_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "undo-tui"


def gguf_model_id(path: str | Path) -> str:
    return f"gguf:{file_sha256(Path(path))}"


def api_model_id(base_url: str, model: str) -> str:
    return f"openai:{base_url.rstrip('/')}:{model}"


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, served from the hash cache while the file is unchanged."""
    return remembered_sha256(path, cache_dir() / HASH_CACHE_NAME)

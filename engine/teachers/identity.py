"""A teacher's model identity for the call cache: a GGUF's content hash, or API endpoint + model.

Hashing a multi-GB GGUF takes a while, so the hash is remembered in a small JSON file keyed by the
file's path, size and modification time; a changed file is hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

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
    path = path.resolve()
    stat = path.stat()
    entry = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    known = _read_cache()
    if entry in known:
        return known[entry]
    digest = _hash_file(path)
    known[entry] = digest
    _write_cache(known)
    return digest


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_cache() -> dict[str, str]:
    try:
        data = json.loads((cache_dir() / HASH_CACHE_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(known: dict[str, str]) -> None:
    """Atomic replace, so two processes hashing at once never leave a torn file (best effort)."""
    target = cache_dir() / HASH_CACHE_NAME
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=0, sort_keys=True))
        os.replace(tmp, target)
    except OSError:
        pass  # an unwritable cache only costs a re-hash next time

"""File helpers the engine shares: content hashes (remembered while a file is unchanged) and the
records of a JSONL file."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

BLOCK = 1 << 20


def sha256_of(path: str | Path) -> str:
    """sha256 of a file's bytes, read in blocks (a GGUF can be many GB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def remembered_sha256(path: str | Path, index_path: Path) -> str:
    """sha256_of(path), remembered in a JSON index keyed by the file's path, size and
    modification time, so a large model is hashed once; a changed file is hashed again."""
    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    known = _read_index(index_path)
    if key in known:
        return known[key]
    digest = sha256_of(path)
    known = _read_index(index_path)  # re-read: another process may have added entries meanwhile
    known[key] = digest
    _write_index(index_path, known)
    return digest


def _read_index(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_index(path: Path, known: dict[str, str]) -> None:
    """Atomic replace, so two processes hashing at once never leave a torn file (best effort:
    an unwritable index only costs a hash next time)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=0, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def jsonl_records(lines: Iterable[str]) -> Iterator[tuple[int, Any | json.JSONDecodeError]]:
    """(line number, parsed value) per non-blank line; a line that is not JSON gives its
    JSONDecodeError instead, so a reader decides whether to stop or to go on."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, exc

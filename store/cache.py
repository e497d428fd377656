"""The content-addressed teacher-call cache: a teacher call is never paid twice.

The key covers everything that determines the response: the backend's model identity (for a
GGUF, a hash of the file), the exact prompt, the sampling parameters and the sample index. Rows
are written the moment a response arrives, each in its own short transaction, so a kill -9 loses
at most the calls in flight.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

from sqlite_utils import Database

from store.connection import write
from store.models import CachedCall


def prompt_hash(prompt: str | list | dict) -> str:
    """sha256 of the exact prompt (a chat message list is hashed as canonical JSON)."""
    text = prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True,
                                                            ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_params(params: Mapping) -> str:
    return json.dumps(dict(params), sort_keys=True, separators=(",", ":"))


def cache_key(model_id: str, prompt: str | list | dict, params: Mapping, sample_index: int) -> str:
    material = "\x1f".join([model_id, prompt_hash(prompt), canonical_params(params),
                            str(sample_index)])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def cache_get(db: Database, key: str) -> CachedCall | None:
    rows = list(db.query("SELECT * FROM teacher_cache WHERE key = ?", [key]))
    return CachedCall.from_row(rows[0]) if rows else None


def cache_get_many(db: Database, keys: Iterable[str]) -> dict[str, CachedCall]:
    """Look up many keys at once (chunked under SQLite's variable limit)."""
    keys = list(dict.fromkeys(keys))
    found: dict[str, CachedCall] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for row in db.query(f"SELECT * FROM teacher_cache WHERE key IN ({marks})", chunk):
            found[row["key"]] = CachedCall.from_row(row)
    return found


def cache_put(db: Database, call: CachedCall) -> None:
    """Store one response; a key already present is kept (first answer wins)."""
    with write(db):
        db.execute(
            "INSERT OR IGNORE INTO teacher_cache (key, model_id, prompt_hash, params_json, "
            "sample_index, status, response, finish_reason, prompt_tokens, completion_tokens, "
            "latency_s, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [call.key, call.model_id, call.prompt_hash, call.params_json, call.sample_index,
             call.status, call.response, call.finish_reason, call.prompt_tokens,
             call.completion_tokens, call.latency_s, call.cost])


def cache_size(db: Database) -> int:
    return db.execute("SELECT count(*) FROM teacher_cache").fetchone()[0]


# -- calls in flight ------------------------------------------------------------------------------
# A call is marked when it starts and unmarked in the transaction that stores its result, so the
# marks left after a kill -9 are exactly the calls that were in flight: a later pass that issues
# one of them again counts it as repeated (the cost of a kill), not as a new call.

def mark_in_flight(db: Database, key: str) -> None:
    with write(db):
        db.execute("INSERT OR REPLACE INTO teacher_inflight (key) VALUES (?)", [key])


def clear_in_flight(db: Database, key: str) -> None:
    with write(db):
        db.execute("DELETE FROM teacher_inflight WHERE key = ?", [key])


def in_flight_keys(db: Database, keys: Iterable[str]) -> set[str]:
    """Which of these keys were left in flight by a process that did not finish them."""
    keys = list(dict.fromkeys(keys))
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        found.update(row[0] for row in db.execute(
            f"SELECT key FROM teacher_inflight WHERE key IN ({marks})", chunk))
    return found

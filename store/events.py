"""Progress events: how the engine tells the TUI what it is doing (the TUI polls these)."""

from __future__ import annotations

import json
import time

from sqlite_utils import Database

from store.connection import write
from store.models import Event


def add_event(db: Database, run_id: int | None, kind: str, *, stage: str | None = None,
              iteration: int | None = None, done: int | None = None, total: int | None = None,
              message: str | None = None, data: dict | None = None) -> int:
    """Append one event. kinds: progress, stage, log, error, metric."""
    with write(db):
        return db.execute(
            "INSERT INTO events (run_id, ts, kind, stage, iteration, done, total, message, "
            "data_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, time.time(), kind, stage, iteration, done, total, message,
             None if data is None else json.dumps(data)]).lastrowid


def events_since(db: Database, run_id: int, after_id: int = 0, limit: int = 500,
                 kinds: tuple[str, ...] | None = None) -> list[Event]:
    sql = "SELECT * FROM events WHERE run_id = ? AND id > ?"
    params: list = [run_id, after_id]
    if kinds:
        sql += f" AND kind IN ({', '.join('?' * len(kinds))})"
        params.extend(kinds)
    sql += " ORDER BY id LIMIT ?"
    params.append(limit)
    return [Event.from_row(row) for row in db.query(sql, params)]


def recent_events(db: Database, run_id: int, limit: int = 50,
                  kinds: tuple[str, ...] | None = None) -> list[Event]:
    """The newest `limit` events, oldest first (a log tail)."""
    sql = "SELECT * FROM events WHERE run_id = ?"
    params: list = [run_id]
    if kinds:
        sql += f" AND kind IN ({', '.join('?' * len(kinds))})"
        params.extend(kinds)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    return [Event.from_row(row) for row in reversed(list(db.query(sql, params)))]


def latest_progress(db: Database, run_id: int) -> dict[str, Event]:
    """The newest progress event of each stage (teacher, train, evaluate) of a run."""
    rows = db.query(
        "SELECT * FROM events WHERE id IN (SELECT max(id) FROM events "
        "WHERE run_id = ? AND kind = 'progress' GROUP BY stage)", [run_id])
    return {row["stage"]: Event.from_row(row) for row in rows}

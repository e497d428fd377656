"""The record of every export, so the TUI can list them and transfer runs can point at one."""

from __future__ import annotations

import json

from sqlite_utils import Database

from store.connection import write
from store.models import ExportRecord


def record_export(db: Database, *, run_id: int | None, iteration: int | None, fmt: str,
                  path: str, rows: int, manifest: dict) -> int:
    with write(db):
        return db.execute(
            "INSERT INTO exports (run_id, iteration, format, path, rows, manifest_json) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, iteration, fmt, path, rows, json.dumps(manifest)]).lastrowid


def list_exports(db: Database, run_id: int | None = None) -> list[ExportRecord]:
    sql, params = "SELECT * FROM exports", []
    if run_id is not None:
        sql, params = sql + " WHERE run_id = ?", [run_id]
    return [ExportRecord.from_row(row) for row in db.query(sql + " ORDER BY id DESC", params)]

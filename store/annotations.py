"""Human annotations on examples: tags, a note, and exclusion from training and exports."""

from __future__ import annotations

from sqlite_utils import Database

from store.connection import write
from store.models import Annotation


def _ensure(db: Database, example_id: int) -> None:
    db.execute("INSERT OR IGNORE INTO annotations (example_id) VALUES (?)", [example_id])


def set_excluded(db: Database, example_id: int, excluded: bool = True) -> None:
    with write(db):
        _ensure(db, example_id)
        db.execute("UPDATE annotations SET excluded = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ',"
                   " 'now') WHERE example_id = ?", [int(excluded), example_id])


def set_note(db: Database, example_id: int, note: str | None) -> None:
    with write(db):
        _ensure(db, example_id)
        db.execute("UPDATE annotations SET note = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ',"
                   " 'now') WHERE example_id = ?", [note or None, example_id])


def add_tag(db: Database, example_id: int, tag: str) -> None:
    tag = tag.strip()
    if not tag:
        raise ValueError("a tag cannot be empty")
    with write(db):
        db.execute("INSERT OR IGNORE INTO example_tags (example_id, tag) VALUES (?, ?)",
                   [example_id, tag])


def remove_tag(db: Database, example_id: int, tag: str) -> None:
    with write(db):
        db.execute("DELETE FROM example_tags WHERE example_id = ? AND tag = ?", [example_id, tag])


def get_annotation(db: Database, example_id: int) -> Annotation:
    row = db.execute("SELECT excluded, note FROM annotations WHERE example_id = ?",
                     [example_id]).fetchone()
    tags = tuple(r[0] for r in db.execute(
        "SELECT tag FROM example_tags WHERE example_id = ? ORDER BY tag", [example_id]))
    excluded, note = (bool(row[0]), row[1]) if row else (False, None)
    return Annotation(example_id, excluded, note, tags)


def excluded_ids(db: Database, dataset_id: int | None = None) -> set[int]:
    sql = "SELECT a.example_id FROM annotations a"
    params: list = []
    if dataset_id is not None:
        sql += " JOIN examples e ON e.id = a.example_id AND e.dataset_id = ?"
        params.append(dataset_id)
    return {r[0] for r in db.execute(sql + " WHERE a.excluded = 1", params)}


def all_tags(db: Database) -> list[tuple[str, int]]:
    return [(r[0], r[1]) for r in db.execute(
        "SELECT tag, count(*) FROM example_tags GROUP BY tag ORDER BY tag")]


def examples_with_tag(db: Database, tag: str) -> set[int]:
    return {r[0] for r in db.execute("SELECT example_id FROM example_tags WHERE tag = ?", [tag])}

"""Human annotations on examples: tags, a note, and exclusion from training, scoring and exports.

They belong to the example in its dataset, so every run on the dataset sees them; `run_id` is
the run they were made in (provenance, shown beside them), and every change is also appended to
`curation_history` (store.curation), newest wins.
"""

from __future__ import annotations

from sqlite_utils import Database

from store.connection import write
from store.curation import record_change
from store.models import Annotation

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


def _ensure(db: Database, example_id: int) -> None:
    db.execute("INSERT OR IGNORE INTO annotations (example_id) VALUES (?)", [example_id])


def set_excluded(db: Database, example_id: int, excluded: bool = True,
                 run_id: int | None = None) -> None:
    """Exclude an example (or include it again), made while looking at run `run_id`."""
    with write(db):
        _ensure(db, example_id)
        db.execute(f"UPDATE annotations SET excluded = ?, excluded_run_id = ?, updated_at = {_NOW}"
                   " WHERE example_id = ?", [int(excluded), run_id, example_id])
        record_change(db, example_id, run_id, "excluded", str(int(excluded)))


def set_note(db: Database, example_id: int, note: str | None, run_id: int | None = None) -> None:
    with write(db):
        _ensure(db, example_id)
        db.execute(f"UPDATE annotations SET note = ?, note_run_id = ?, updated_at = {_NOW} "
                   "WHERE example_id = ?", [note or None, run_id, example_id])
        record_change(db, example_id, run_id, "note", note or None)


def add_tag(db: Database, example_id: int, tag: str, run_id: int | None = None) -> None:
    tag = tag.strip()
    if not tag:
        raise ValueError("a tag cannot be empty")
    with write(db):
        added = db.execute("INSERT OR IGNORE INTO example_tags (example_id, tag, run_id) "
                           "VALUES (?, ?, ?)", [example_id, tag, run_id]).rowcount
        if added:
            record_change(db, example_id, run_id, "tag", tag)


def remove_tag(db: Database, example_id: int, tag: str, run_id: int | None = None) -> None:
    with write(db):
        removed = db.execute("DELETE FROM example_tags WHERE example_id = ? AND tag = ?",
                             [example_id, tag]).rowcount
        if removed:
            record_change(db, example_id, run_id, "untag", tag)


def get_annotation(db: Database, example_id: int) -> Annotation:
    row = db.execute("SELECT excluded, note, excluded_run_id, note_run_id FROM annotations "
                     "WHERE example_id = ?", [example_id]).fetchone()
    tag_rows = db.execute("SELECT tag, run_id FROM example_tags WHERE example_id = ? ORDER BY tag",
                          [example_id]).fetchall()
    excluded, note, excluded_run, note_run = ((bool(row[0]), row[1], row[2], row[3]) if row
                                              else (False, None, None, None))
    return Annotation(example_id, excluded, note, tuple(t for t, _ in tag_rows),
                      excluded_run_id=excluded_run if excluded else None,
                      note_run_id=note_run if note else None,
                      tag_runs=tuple(r for _, r in tag_rows))


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

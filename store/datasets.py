"""Datasets and their examples."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from sqlite_utils import Database

from store.connection import write
from store.errors import NotFound, UndoError
from store.models import Dataset, Example

# text: free-text references (translation, summarisation), scored by chrF/ROUGE-L in sweeps
ANSWER_TYPES = ("number", "choice", "math", "string", "text")
SPLITS = ("train", "val", "test")


def get_or_create_dataset(db: Database, name: str, answer_type: str = "number",
                          source: str | None = None) -> int:
    """The id of dataset `name`, creating it if needed. A different answer type is an error."""
    if answer_type not in ANSWER_TYPES:
        raise UndoError(f"answer type {answer_type!r} is not one of {', '.join(ANSWER_TYPES)}")
    with write(db):
        row = db.execute("SELECT id, answer_type FROM datasets WHERE name = ?", [name]).fetchone()
        if row:
            if row[1] != answer_type:
                raise UndoError(f"dataset {name!r} already exists with answer type {row[1]!r}, "
                                f"not {answer_type!r}; import under another --dataset name")
            return row[0]
        return db.execute("INSERT INTO datasets (name, answer_type, source) VALUES (?, ?, ?)",
                          [name, answer_type, source]).lastrowid


def get_dataset(db: Database, name_or_id: str | int) -> Dataset:
    column = "id" if isinstance(name_or_id, int) else "name"
    rows = list(db.query(f"SELECT * FROM datasets WHERE {column} = ?", [name_or_id]))
    if not rows:
        raise NotFound(f"no dataset {name_or_id!r} in this store")
    return Dataset.from_row(rows[0], counts=count_examples(db, rows[0]["id"]))


def list_datasets(db: Database) -> list[Dataset]:
    return [Dataset.from_row(row, counts=count_examples(db, row["id"]))
            for row in db.query("SELECT * FROM datasets ORDER BY name")]


def count_examples(db: Database, dataset_id: int) -> dict[str, int]:
    rows = db.execute("SELECT split, count(*) FROM examples WHERE dataset_id = ? GROUP BY split",
                      [dataset_id]).fetchall()
    return {split: n for split, n in rows}


_EXAMPLE_COLUMNS = ("ext_id", "split", "question", "answer", "answer_raw", "rationale",
                    "choices_json", "category", "position")


def add_examples(db: Database, dataset_id: int, examples: Iterable[Mapping]) -> int:
    """Insert examples in one transaction; ones whose ext_id is already stored are left alone.

    Returns how many rows were inserted, so re-importing the same file reports 0.
    """
    rows = []
    for ex in examples:
        choices = ex.get("choices")
        rows.append((dataset_id, ex["ext_id"], ex["split"], ex["question"], ex["answer"],
                     ex.get("answer_raw"), ex.get("rationale"),
                     None if choices is None else json.dumps(list(choices)),
                     ex.get("category"), ex.get("position")))
    placeholders = ", ".join("?" * (len(_EXAMPLE_COLUMNS) + 1))
    with write(db):
        cursor = db.conn.executemany(
            f"INSERT OR IGNORE INTO examples (dataset_id, {', '.join(_EXAMPLE_COLUMNS)}) "
            f"VALUES ({placeholders})", rows)
        # rowcount sums sqlite3_changes(), which leaves out the rows the FTS triggers write.
        return max(cursor.rowcount, 0)


def get_example(db: Database, example_id: int) -> Example:
    rows = list(db.query("SELECT * FROM examples WHERE id = ?", [example_id]))
    if not rows:
        raise NotFound(f"no example {example_id} in this store")
    return Example.from_row(rows[0])


def load_examples(db: Database, dataset_id: int, split: str, limit: int | None = None,
                  include_excluded: bool = True) -> list[Example]:
    """Examples of one split in a stable order (id), optionally without excluded ones."""
    sql = "SELECT e.* FROM examples e WHERE e.dataset_id = ? AND e.split = ?"
    if not include_excluded:
        sql += " AND e.id NOT IN (SELECT example_id FROM annotations WHERE excluded = 1)"
    sql += " ORDER BY e.id"
    params: list = [dataset_id, split]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [Example.from_row(row) for row in db.query(sql, params)]

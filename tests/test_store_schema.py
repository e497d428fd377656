"""The store file itself: migrations, pragmas, FTS sync, refusing newer schemas, backups."""

from __future__ import annotations

import sqlite3

import pytest

import store
from store.schema import MIGRATION_SET, known_migrations


def test_fresh_store_has_every_table_and_pragma(db):
    tables = set(db.table_names())
    for name in ("datasets", "examples", "runs", "iterations", "rationales", "predictions",
                 "teacher_cache", "events", "annotations", "example_tags", "exports",
                 "examples_fts", "rationales_fts"):
        assert name in tables, name
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    applied = [m.name for m in store.schema.migrations.applied(db)]
    assert applied == known_migrations()


def test_reopening_applies_nothing_and_keeps_rows(store_path, db, tiny_dataset):
    db.close()
    again = store.open_store(store_path)
    assert store.count_examples(again, tiny_dataset) == {"train": 4, "val": 3, "test": 2}
    assert not list(store_path.parent.glob("*.backup-*"))


def test_store_opens_in_plain_sqlite(store_path, db, tiny_dataset):
    other = sqlite3.connect(store_path)
    assert other.execute("SELECT count(*) FROM examples").fetchone()[0] == 9
    other.close()


def test_newer_schema_is_refused_and_file_untouched(store_path, db):
    db.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
               "VALUES (?, 'm999_from_the_future', 'x')", [MIGRATION_SET])
    db.close()
    before = store_path.read_bytes()
    with pytest.raises(store.SchemaTooNew, match="m999_from_the_future"):
        store.open_store(store_path)
    assert store_path.read_bytes() == before


def test_upgrade_makes_a_backup_first(store_path, monkeypatch):
    from store import schema

    first = store.open_store(store_path)
    dataset_id = store.get_or_create_dataset(first, "d")
    first.close()
    last = schema.known_migrations()[-1]

    @schema.migrations(name="m900_test_upgrade")
    def _add_column(database):
        database.execute("ALTER TABLE datasets ADD COLUMN extra TEXT")

    try:
        upgraded = store.open_store(store_path)
        backups = list(store_path.parent.glob(f"store.backup-{last}.db"))
        assert len(backups) == 1
        old = sqlite3.connect(backups[0])
        columns = [r[1] for r in old.execute("PRAGMA table_info(datasets)")]
        assert "extra" not in columns and old.execute("SELECT count(*) FROM datasets").fetchone()[0] == 1
        assert "extra" in [r[1] for r in upgraded.execute("PRAGMA table_info(datasets)")]
        assert store.get_dataset(upgraded, dataset_id).name == "d"
    finally:
        schema.migrations._migrations.pop()  # test-only: unregister the temporary migration


def test_fts_follows_inserts_updates_and_deletes(db, tiny_dataset):
    def hits(word):
        return [r[0] for r in db.execute(
            "SELECT rowid FROM examples_fts WHERE examples_fts MATCH ?", [word])]

    assert len(hits("apples")) == 9
    first = hits("apples")[0]
    db.execute("UPDATE examples SET question = 'How many pears?' WHERE id = ?", [first])
    assert hits("pears") == [first] and first not in hits("apples")
    db.execute("DELETE FROM examples WHERE id = ?", [first])
    assert hits("pears") == []

    run_id = store.create_run(db, "r", {}, dataset_id=tiny_dataset)
    example = store.load_examples(db, tiny_dataset, "train")[0]
    store.add_rationales(db, [store.NewRationale(example.id, run_id, 1, "teacher_initial",
                                                 "Multiply the zebras first.")])
    assert db.execute("SELECT count(*) FROM rationales_fts WHERE rationales_fts MATCH 'zebra'"
                      ).fetchone()[0] == 1


def test_foreign_keys_cascade_run_deletion(db, tiny_dataset):
    run_id = store.create_run(db, "r", {}, dataset_id=tiny_dataset)
    example = store.load_examples(db, tiny_dataset, "val")[0]
    store.upsert_iteration(db, run_id, 1, val_accuracy=0.5)
    store.add_predictions(db, [store.NewPrediction(run_id, 1, "val", example.id, "Answer: 5", True)])
    store.add_event(db, run_id, "log", message="hello")
    store.delete_run(db, run_id)
    for table in ("iterations", "predictions", "events"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO examples (dataset_id, split, ext_id, question, answer) "
                   "VALUES (999, 'train', 'x', 'q', '1')")


def test_empty_rationale_text_is_rejected_unless_failed(db, tiny_dataset):
    example = store.load_examples(db, tiny_dataset, "train")[0]
    with pytest.raises(ValueError):
        store.add_rationales(db, [store.NewRationale(example.id, None, 1, "teacher_initial", "")])
    assert store.add_rationales(db, [store.NewRationale(
        example.id, None, 1, "teacher_initial", "", status="failed", error="HTTP 500")]) == 1
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO rationales (example_id, source, text) VALUES (?, 'human', '')",
                   [example.id])

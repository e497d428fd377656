"""Migration m006: runs of kind 'distill', by rebuilding `runs` a second time (its CREATE
statement is quoted since m005 renamed the rebuilt table), and the distill_runs table."""

from __future__ import annotations

import sqlite3

import pytest

import store
from store import distill as store_distill
from store.connection import connect
from store.schema import migrations

DISTILL_MIGRATION = "m006_distill_runs"


def test_upgrading_keeps_every_run_and_allows_distillations(store_path):
    db = connect(store_path)
    migrations.apply(db, stop_before=DISTILL_MIGRATION)
    dataset = store.get_or_create_dataset(db, "arith", "number", "fixture")
    run = store.create_run(db, "undo", {}, dataset_id=dataset)
    sweep = store.create_run(db, "sweep", {}, kind="wheels", dataset_id=dataset)
    store.upsert_iteration(db, run, 1, val_accuracy=0.5)
    with pytest.raises(sqlite3.IntegrityError):
        store.create_run(db, "kd", {}, kind="distill", dataset_id=dataset)
    db.close()
    db = store.open_store(store_path)
    assert DISTILL_MIGRATION in [m.name for m in migrations.applied(db)]
    assert store.get_run(db, sweep).kind == "wheels"
    assert store.get_iteration(db, run, 1).val_accuracy == 0.5
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    distill = store.create_run(db, "kd", {}, kind="distill", dataset_id=dataset)
    store_distill.set_student(db, distill, "runs/run-3/student")
    store_distill.save_outcome(db, distill, {"n": 4, "correct": 1, "steps": 2}, {"x": 1})
    outcome = store_distill.get_outcome(db, distill)
    assert (outcome.student, outcome.n, outcome.accuracy, outcome.result) == \
        ("runs/run-3/student", 4, 0.25, {"x": 1})
    with pytest.raises(sqlite3.IntegrityError):  # the list grew; it still checks
        db.execute("INSERT INTO runs (name, kind, config_json) VALUES ('x', 'other', '{}')")
    store.delete_run(db, distill)  # the rebuilt runs table is still distill_runs' parent
    assert db.execute("SELECT count(*) FROM distill_runs").fetchone()[0] == 0
    db.close()

"""Migration m007: runs of kind 'ask', by rebuilding `runs` a third time, and the ask_runs
table for each one's outcome."""

from __future__ import annotations

import sqlite3

import pytest

import store
from store import ask as store_ask
from store.connection import connect
from store.schema import migrations

ASK_MIGRATION = "m007_ask_runs"


def test_upgrading_keeps_every_run_and_allows_ask_runs(store_path):
    db = connect(store_path)
    migrations.apply(db, stop_before=ASK_MIGRATION)
    dataset = store.get_or_create_dataset(db, "arith", "number", "fixture")
    run = store.create_run(db, "undo", {}, dataset_id=dataset)
    distill = store.create_run(db, "kd", {}, kind="distill", dataset_id=dataset)
    store.upsert_iteration(db, run, 1, val_accuracy=0.5)
    with pytest.raises(sqlite3.IntegrityError):
        store.create_run(db, "asker", {}, kind="ask", dataset_id=dataset)
    db.close()
    db = store.open_store(store_path)
    assert ASK_MIGRATION in [m.name for m in migrations.applied(db)]
    assert store.get_run(db, distill).kind == "distill"
    assert store.get_iteration(db, run, 1).val_accuracy == 0.5
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    ask = store.create_run(db, "asker", {}, kind="ask", dataset_id=dataset)
    store_ask.set_asker(db, ask, "runs/run-3/asker", None)
    store_ask.save_outcome(db, ask, {"warm_steps": 4, "pcl_steps": 2, "final_loss": 1.5},
                           {"final": {"lambda_10": 0.2}})
    outcome = store_ask.get_outcome(db, ask)
    assert (outcome.asker, outcome.out_dir, outcome.warm_steps, outcome.final_loss,
            outcome.result) == ("runs/run-3/asker", None, 4, 1.5, {"final": {"lambda_10": 0.2}})
    with pytest.raises(ValueError, match="unknown ask_runs column"):
        store_ask.save_outcome(db, ask, {"asker": "elsewhere"}, {})
    with pytest.raises(sqlite3.IntegrityError):  # the list grew; it still checks
        db.execute("INSERT INTO runs (name, kind, config_json) VALUES ('x', 'other', '{}')")
    store.delete_run(db, ask)  # the rebuilt runs table is still ask_runs' parent
    assert db.execute("SELECT count(*) FROM ask_runs").fetchone()[0] == 0
    db.close()

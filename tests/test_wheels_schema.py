"""Migration m005: runs of kind 'wheels' and free-text datasets, by rebuilding two tables whose
CHECK lists grow, on a store that already holds data; and the sweep tables."""

from __future__ import annotations

import sqlite3

import pytest

import store
from store.connection import connect
from store.schema import migrations

WHEELS_MIGRATION = "m005_training_wheels_sweeps"


def old_store(path):
    """A store as the version before m005 wrote it, with a run, its iteration and a rationale."""
    db = connect(path)
    migrations.apply(db, stop_before=WHEELS_MIGRATION)
    dataset = store.get_or_create_dataset(db, "arith", "number", "fixture")
    store.add_examples(db, dataset, [dict(ext_id="a", split="train", question="1+1?", answer="2")])
    example = store.load_examples(db, dataset, "train")[0]
    run = store.create_run(db, "undo", {"loop": {}}, dataset_id=dataset)
    baseline = store.create_run(db, "base", {}, kind="baseline", dataset_id=dataset,
                                source_run_id=run)
    store.upsert_iteration(db, run, 1, val_accuracy=0.5)
    store.update_run(db, run, pid=4321, pid_started="boot:99")  # m004's column
    db.execute("INSERT INTO rationales (example_id, run_id, iteration, source, text) "
               "VALUES (?, ?, 1, 'teacher_initial', 'one plus one is two')", [example.id, run])
    with pytest.raises(sqlite3.IntegrityError):
        store.create_run(db, "sweep", {}, kind="wheels", dataset_id=dataset)
    db.close()
    return run, baseline, example.id


def test_upgrading_keeps_every_row_and_link_and_allows_sweeps(store_path):
    run, baseline, example_id = old_store(store_path)
    db = store.open_store(store_path)
    assert WHEELS_MIGRATION in [m.name for m in migrations.applied(db)]
    assert store.get_run(db, baseline).source_run_id == run
    assert store.get_run(db, run).pid_started == "boot:99"  # columns added by ALTER survive
    assert store.get_iteration(db, run, 1).val_accuracy == 0.5
    assert store.get_dataset(db, "arith").answer_type == "number"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    sweep = store.create_run(db, "sweep", {}, kind="wheels",
                             dataset_id=store.get_dataset(db, "arith").id)
    assert store.get_run(db, sweep).kind == "wheels"
    store.get_or_create_dataset(db, "mt", "text", "fixture")
    with pytest.raises(sqlite3.IntegrityError):  # the lists grew; they still check
        db.execute("INSERT INTO runs (name, kind, config_json) VALUES ('x', 'other', '{}')")
    # the rebuilt runs table is still the parent of iterations, rationales and baselines
    store.delete_run(db, run)
    assert db.execute("SELECT count(*) FROM iterations").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM rationales").fetchone()[0] == 0
    assert store.get_run(db, baseline).source_run_id is None
    db.close()


def test_a_migration_killed_after_its_rebuild_runs_again_cleanly(store_path):
    """The rebuild commits before sqlite-utils records the migration: a kill in between
    leaves a rebuilt store without the record, and the next open must finish the job."""
    old_store(store_path)
    db = connect(store_path)
    from store.schema import m005_training_wheels_sweeps

    m005_training_wheels_sweeps(db)  # what ran before the kill
    assert WHEELS_MIGRATION not in [m.name for m in migrations.applied(db)]
    db.close()
    db = store.open_store(store_path)
    assert WHEELS_MIGRATION in [m.name for m in migrations.applied(db)]
    assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
    db.close()

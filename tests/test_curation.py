"""Curation that carries over: exclusions, notes, tags and rationale edits belong to the example
in its dataset (with the run they were made in), a new run on the dataset starts with them,
`run --from-run` names its source, and excluded examples are left out of every score."""

from __future__ import annotations

import subprocess
import sys

import pytest

import store
from engine.config import load_config
from engine.loop.stage_context import StageContext
from engine.loop.stages import training_pairs
from engine.loop.teacher_stage import stage_teacher
from store.models import SplitCounts
from tests.fixtures.teacher_fixtures import add_dataset, fault_rows, fault_run_file


def _run(db, dataset_id: int, name: str, config: dict | None = None) -> int:
    return store.create_run(db, name, config or {}, kind="undo", dataset_id=dataset_id)


def _teacher_row(db, run_id: int, example_id: int, text: str) -> int:
    store.add_rationales(db, [store.NewRationale(example_id, run_id, 1, "teacher_initial", text,
                                                 answer="6", correct=False, kept=True)])
    return store.rationales_for_iteration(db, run_id, 1)[-1].id


# -- store level ----------------------------------------------------------------------------------

def test_a_second_run_sees_the_first_runs_curation_with_its_provenance(db, tiny_dataset):
    train = store.load_examples(db, tiny_dataset, "train")
    first = _run(db, tiny_dataset, "first")
    store.set_excluded(db, train[0].id, run_id=first)
    store.set_note(db, train[1].id, "gold is fine", run_id=first)
    store.add_tag(db, train[1].id, "units", run_id=first)
    parent = _teacher_row(db, first, train[1].id, "2 + 3 = 6\nAnswer: 6")
    edit_id = store.add_human_edit(db, parent, "2 + 3 = 5\nAnswer: 5", answer="5", correct=True)

    second = _run(db, tiny_dataset, "second")
    assert train[0].id in store.excluded_ids(db, tiny_dataset)
    note = store.get_annotation(db, train[1].id)
    assert (note.note, note.note_run_id, note.tags, note.tag_runs) == (
        "gold is fine", first, ("units",), (first,))
    assert store.get_annotation(db, train[0].id).excluded_run_id == first
    edit = store.human_edits(db, tiny_dataset)[train[1].id]
    assert (edit.text, edit.run_id, edit.rationale_id, edit.correct) == (
        "2 + 3 = 5\nAnswer: 5", first, edit_id, True)

    # the second run disagrees: the newest change wins, the first stays in the history
    store.set_excluded(db, train[0].id, False, run_id=second)
    parent2 = _teacher_row(db, second, train[1].id, "2 + 3 = 7\nAnswer: 7")
    store.add_human_edit(db, parent2, "3 + 2 = 5\nAnswer: 5", answer="5", correct=True)
    assert train[0].id not in store.excluded_ids(db, tiny_dataset)
    assert store.human_edit(db, train[1].id).run_id == second
    changes = [(c.field, c.run_id, c.value) for c in store.curation_history(db, train[1].id)]
    assert changes == [("note", first, "gold is fine"), ("tag", first, "units"),
                       ("rationale", first, "2 + 3 = 5\nAnswer: 5"),
                       ("rationale", second, "3 + 2 = 5\nAnswer: 5")]
    assert [(c.value, c.run_id) for c in store.curation_history(db, train[0].id)] == [
        ("1", first), ("0", second)]
    assert store.curation_summary(db, tiny_dataset).describe() == \
        "0 excluded, 1 edited rationale, 1 tagged, 1 with a note"
    assert store.curation_summary(db, tiny_dataset, first).edited == 0  # overridden since


def test_curation_outlives_the_run_it_was_made_in(db, tiny_dataset):
    train = store.load_examples(db, tiny_dataset, "train")
    run = _run(db, tiny_dataset, "gone")
    store.set_excluded(db, train[2].id, run_id=run)
    parent = _teacher_row(db, run, train[3].id, "bad\nAnswer: 6")
    store.add_human_edit(db, parent, "good\nAnswer: 5")
    store.delete_run(db, run)
    assert store.get_annotation(db, train[2].id).excluded
    edit = store.human_edit(db, train[3].id)
    assert (edit.text, edit.run_id, edit.rationale_id) == ("good\nAnswer: 5", None, None)


# -- migration of a store written before m008 -----------------------------------------------------

def test_upgrading_moves_run_edits_and_annotations_to_the_dataset(store_path):
    from store.schema import migrations

    old = store.connect(store_path)
    migrations.apply(old, stop_before="m008_dataset_curation")
    dataset_id = add_dataset(old, "old", [dict(ext_id=f"o{i}", split="train", question=f"Q{i}?",
                                              answer="5") for i in range(3)])
    ids = [e.id for e in store.load_examples(old, dataset_id, "train")]
    runs = [store.create_run(old, name, {}, kind="undo", dataset_id=dataset_id)
            for name in ("a", "b")]
    # run a edited examples 0 and 1, run b (later) edited example 1 differently
    for run_id, example_id, text in ((runs[0], ids[0], "a0"), (runs[0], ids[1], "a1"),
                                     (runs[1], ids[1], "b1")):
        store.add_rationales(old, [store.NewRationale(example_id, run_id, 1, "human",
                                                      f"{text}\nAnswer: 5", kept=True,
                                                      answer="5", correct=True)])
    old.execute("INSERT INTO annotations (example_id, excluded, note) VALUES (?, 1, 'bad gold')",
                [ids[2]])
    old.execute("INSERT INTO example_tags (example_id, tag) VALUES (?, 'units')", [ids[2]])
    rationales_before = old.execute("SELECT count(*) FROM rationales").fetchone()[0]
    old.close()

    db = store.open_store(store_path)
    try:
        edits = store.human_edits(db, dataset_id)
        assert {i: (e.text, e.run_id) for i, e in edits.items()} == {
            ids[0]: ("a0\nAnswer: 5", runs[0]), ids[1]: ("b1\nAnswer: 5", runs[1])}
        assert [(c.run_id, c.value) for c in store.curation_history(db, ids[1])] == [
            (runs[0], "a1\nAnswer: 5"), (runs[1], "b1\nAnswer: 5")]
        note = store.get_annotation(db, ids[2])
        assert (note.excluded, note.note, note.tags, note.excluded_run_id) == (
            True, "bad gold", ("units",), None)
        assert [c.field for c in store.curation_history(db, ids[2])] == ["excluded", "note",
                                                                        "tag"]
        assert db.execute("SELECT count(*) FROM rationales").fetchone()[0] == rationales_before
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.close()


# -- engine level: the teacher stage of a second run ----------------------------------------------

def _config(tmp_path, server):
    return load_config(fault_run_file(tmp_path / "curation.toml", server, "curated"))


def test_a_new_run_trains_on_the_edits_and_skips_the_exclusions(db, store_path, tmp_path,
                                                                 fault_server):
    dataset_id = add_dataset(db, "curated", fault_rows(["[e0]", "[e1]", "[e2]", "[e3]"]))
    train = store.load_examples(db, dataset_id, "train")
    config = _config(tmp_path, fault_server).model_dump(mode="json")
    first = _run(db, dataset_id, "first", config)
    store.set_excluded(db, train[0].id, run_id=first)
    parent = _teacher_row(db, first, train[1].id, "2 + 3 = 6\nAnswer: 6")
    edit_id = store.add_human_edit(db, parent, "2 and 3 more make 5.\nAnswer: 5", answer="5",
                                   correct=True)

    second = _run(db, dataset_id, "second", config)
    stage_teacher(StageContext.load(store_path, second, 1))
    # the teacher was asked only about the examples neither excluded nor edited
    assert [fault_server.hits_for(m) for m in ("[e0]", "[e1]", "[e2]", "[e3]")] == [0, 0, 1, 1]
    carried = [r for r in store.rationales_for_iteration(db, second, 1) if r.source == "human"]
    assert [(r.example_id, r.parent_id, r.kept, r.correct) for r in carried] == [
        (train[1].id, edit_id, True, True)]
    pairs = dict(training_pairs(StageContext.load(store_path, second, 1)))
    assert pairs[train[1].question] == "2 and 3 more make 5.\nAnswer: 5"
    assert train[0].question not in pairs and len(pairs) == 3
    assert store.teacher_yield(db, second, 1) == (2, 2)
    log = [e.message for e in store.recent_events(db, second, 20) if e.kind == "log"]
    assert any(f"1 human-edited rationale from the dataset's curation (made in run {first})"
               in m for m in log)


# -- scores leave excluded examples out -----------------------------------------------------------

def test_excluded_validation_examples_leave_scores_and_pairs(tui_store):
    path, ids = tui_store
    run, fixed_at_1 = ids["run"], ids["val_ids"][1]  # val pattern "0111": fixed at k=1
    db = store.open_store(path)
    try:
        assert store.get_iteration(db, run, 1).scored("val") == SplitCounts(4, 5, 8, 6)
        assert store.transitions(db, run, "val", 0, 1).fixed == 3
        store.set_excluded(db, fixed_at_1, run_id=run)
        it = store.get_iteration(db, run, 1)
        assert it.scored("val") == SplitCounts(3, 4, 7, 5, excluded=1)
        assert it.val_accuracy == pytest.approx(3 / 7)
        assert store.list_iterations(db, run)[1].scored("val").excluded == 1
        assert store.transitions(db, run, "val", 0, 1).fixed == 2  # the stop rule's pairs
        assert store.get_iteration(db, run, 1).metrics["val_total"] == 8  # stored counts whole
        best = next(s for s in store.list_runs(db) if s.run.id == run)
        assert (best.best_val_correct, best.best_val_total, best.best_val_excluded) == (4, 7, 1)
        store.set_excluded(db, fixed_at_1, False, run_id=run)  # undone: scores are whole again
        assert store.get_iteration(db, run, 1).scored("val") == SplitCounts(4, 5, 8, 6)
    finally:
        db.close()


def _cli(path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "undo_tui.cli", "--store", str(path), *args],
                          capture_output=True, text=True, timeout=120)


def test_status_counts_the_excluded(tui_store):
    path, ids = tui_store
    db = store.open_store(path)
    store.set_excluded(db, ids["val_ids"][1], run_id=ids["run"])
    db.close()
    out = _cli(path, "status", str(ids["run"]))
    assert out.returncode == 0, out.stderr
    row = next(line.split() for line in out.stdout.splitlines() if line.strip().startswith("1 "))
    assert row[4:9] == ["42.9%", "15.8%-75.0%", "7,", "1", "excluded"]
    listing = _cli(path, "status").stdout
    assert "k=2: 57.1% [25.0-84.2] n=7, 1 excluded" in listing


# -- undo-tui run --from-run ----------------------------------------------------------------------

def test_from_run_records_its_source_and_refuses_another_dataset(db, store_path, tmp_path,
                                                                 fault_server):
    dataset_id = add_dataset(db, "curated", fault_rows(["[e0]", "[e1]"]))
    other = add_dataset(db, "other", fault_rows(["[o0]"]))
    train = store.load_examples(db, dataset_id, "train")
    config_path = tmp_path / "curation.toml"
    _config(tmp_path, fault_server)
    first = _run(db, dataset_id, "first")
    elsewhere = _run(db, other, "elsewhere")
    store.set_excluded(db, train[0].id, run_id=first)
    store.add_tag(db, train[1].id, "units", run_id=first)

    out = _cli(store_path, "run", str(config_path), "--from-run", "first", "--create-only",
               "--no-preflight")
    assert out.returncode == 0, out.stderr
    created = max(r.run.id for r in store.list_runs(db))
    assert store.get_run(db, created).source_run_id == first
    assert (f"run {created} starts from run {first}'s curated data (1 excluded, 0 edited "
            "rationales, 1 tagged, 0 with a note made there)") in out.stdout

    refused = _cli(store_path, "run", str(config_path), "--from-run", str(elsewhere),
                   "--create-only", "--no-preflight")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert (f"run {elsewhere} (elsewhere) is on dataset 'other', this config's dataset is "
            "'curated'") in refused.stderr
    assert max(r.run.id for r in store.list_runs(db)) == created  # nothing recorded

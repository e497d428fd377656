"""The typed query API on a fresh store per test."""

from __future__ import annotations

import pytest

import store


def test_datasets_and_idempotent_examples(db):
    dataset_id = store.get_or_create_dataset(db, "gsm", "number", "train.jsonl")
    assert store.get_or_create_dataset(db, "gsm", "number") == dataset_id
    with pytest.raises(store.UndoError, match="answer type"):
        store.get_or_create_dataset(db, "gsm", "choice")
    rows = [dict(ext_id=str(i), split="train", question=f"q{i}", answer=str(i), choices=None)
            for i in range(5)]
    assert store.add_examples(db, dataset_id, rows) == 5
    assert store.add_examples(db, dataset_id, rows + [dict(ext_id="new", split="test",
                                                           question="q", answer="1",
                                                           choices=["a", "b"])]) == 1
    assert store.get_dataset(db, "gsm").counts == {"train": 5, "test": 1}
    test_example = store.load_examples(db, dataset_id, "test")[0]
    assert test_example.choices == ["a", "b"]
    with pytest.raises(store.NotFound):
        store.get_dataset(db, "nope")


def test_excluded_examples_drop_out_of_training_loads(db, tiny_dataset):
    train = store.load_examples(db, tiny_dataset, "train")
    store.set_excluded(db, train[0].id)
    kept = store.load_examples(db, tiny_dataset, "train", include_excluded=False)
    assert [e.id for e in kept] == [e.id for e in train[1:]]
    store.set_excluded(db, train[0].id, False)
    assert len(store.load_examples(db, tiny_dataset, "train", include_excluded=False)) == 4


def test_annotations_roundtrip(db, tiny_dataset):
    example = store.load_examples(db, tiny_dataset, "val")[0]
    store.add_tag(db, example.id, "units")
    store.add_tag(db, example.id, "units")
    store.add_tag(db, example.id, "hard")
    store.set_note(db, example.id, "gold answer looks off")
    note = store.get_annotation(db, example.id)
    assert note.tags == ("hard", "units") and note.note == "gold answer looks off"
    assert not note.excluded
    store.remove_tag(db, example.id, "hard")
    assert store.all_tags(db) == [("units", 1)]
    assert store.examples_with_tag(db, "units") == {example.id}


def test_run_lifecycle_and_stop_request(db, tiny_dataset):
    run_id = store.create_run(db, "first", {"loop": {"max_iterations": 4}}, dataset_id=tiny_dataset,
                              teacher="smollm2", student="tiny")
    run = store.get_run(db, run_id)
    assert run.status == "created" and run.config["loop"]["max_iterations"] == 4
    store.update_run(db, run_id, status="running", pid=123, stage="teacher")
    assert not store.stop_requested(db, run_id)
    store.request_stop(db, run_id)
    assert store.stop_requested(db, run_id)
    assert store.get_run(db, run_id).status == "stopping"
    store.clear_stop_request(db, run_id)
    assert not store.stop_requested(db, run_id)
    with pytest.raises(ValueError):
        store.update_run(db, run_id, status="exploded")


def test_iterations_metrics_best_and_summary(db, tiny_dataset):
    run_id = store.create_run(db, "r", {}, dataset_id=tiny_dataset)
    store.upsert_iteration(db, run_id, 0, val_accuracy=0.1)
    store.upsert_iteration(db, run_id, 1, val_accuracy=0.4, metrics={"format": 0.9})
    store.upsert_iteration(db, run_id, 2, val_accuracy=0.3)
    store.add_teacher_usage(db, run_id, 1, calls=2, prompt_tokens=100, completion_tokens=50,
                            cost=0.01)
    store.add_teacher_usage(db, run_id, 1, calls=1, prompt_tokens=10, completion_tokens=5)
    store.mark_best_iteration(db, run_id, 1)
    iterations = store.list_iterations(db, run_id)
    assert [i.k for i in iterations] == [0, 1, 2]
    first = iterations[1]
    assert first.is_best and first.metrics == {"format": 0.9}
    assert (first.teacher_calls, first.teacher_prompt_tokens, first.teacher_completion_tokens) == (3, 110, 55)
    assert first.teacher_cost == pytest.approx(0.01)
    summary = store.list_runs(db)[0]
    assert summary.iterations == 2 and summary.best_val_accuracy == pytest.approx(0.4)
    assert summary.dataset_name == "tiny" and store.get_run(db, run_id).best_iteration == 1


def test_rationale_versions_and_human_edit_wins(db, tiny_dataset):
    run_id = store.create_run(db, "r", {}, dataset_id=tiny_dataset)
    example = store.load_examples(db, tiny_dataset, "train")[0]
    initial = store.NewRationale(example.id, run_id, 1, "teacher_initial", "2+3=6. Answer: 6",
                                 answer="6", correct=False, kept=False, prompt_hash="p1")
    assert store.add_rationales(db, [initial, initial]) == 1
    refined_row = store.NewRationale(example.id, run_id, 2, "teacher_refined", "2+3=5. Answer: 5",
                                     answer="5", correct=True, kept=True)
    first_id = store.rationales_for_example(db, example.id)[0].id
    refined_row.parent_id = first_id
    store.add_rationales(db, [refined_row])
    refined = store.rationales_for_example(db, example.id, run_id)[-1]
    assert refined.parent_id == first_id and refined.kept
    assert store.teacher_yield(db, run_id, 2) == (1, 1)
    assert store.latest_kept_rationales(db, run_id, 2)[example.id].id == refined.id

    edit_id = store.add_human_edit(db, refined.id, "Two plus three is five.\nAnswer: 5",
                                   answer="5", correct=True)
    versions = store.rationales_for_example(db, example.id, run_id)
    assert [v.source for v in versions] == ["teacher_initial", "teacher_refined", "human"]
    assert versions[-1].parent_id == refined.id and versions[-1].kept
    assert not store.get_rationale(db, refined.id).kept
    assert store.latest_kept_rationales(db, run_id, 5)[example.id].id == edit_id
    with pytest.raises(ValueError):
        store.add_human_edit(db, refined.id, "   ")


def test_predictions_scores_and_transitions(db, tiny_dataset):
    run_id = store.create_run(db, "r", {}, dataset_id=tiny_dataset)
    val = store.load_examples(db, tiny_dataset, "val")
    # iteration 1: right, wrong, wrong; iteration 2: wrong, right, wrong
    pattern = {1: [True, False, False], 2: [False, True, False]}
    for k, verdicts in pattern.items():
        store.add_predictions(db, [
            store.NewPrediction(run_id, k, "val", e.id, f"out {k}", ok, answer="1",
                                has_answer_line=ok) for e, ok in zip(val, verdicts)])
    again = store.add_predictions(db, [store.NewPrediction(run_id, 1, "val", val[0].id, "x", False)])
    assert again == 0
    assert store.score(db, run_id, 1, "val").accuracy == pytest.approx(1 / 3)
    assert store.score(db, run_id, 2, "val").format_rate == pytest.approx(1 / 3)
    assert store.transitions(db, run_id, "val", 1, 2) == store.predictions.Transitions(1, 1, 1, 0)
    assert store.wrong_example_ids(db, run_id, 2, "val") == [val[0].id, val[2].id]
    assert store.predicted_example_ids(db, run_id, 1, "val") == {e.id for e in val}
    history = store.predictions_for_example(db, val[1].id, run_id)
    assert [p.correct for p in history] == [False, True]


def test_teacher_cache_keys_and_first_answer_wins(db):
    params = {"temperature": 0.0, "max_tokens": 256}
    key = store.cache_key("gguf:abc", "prompt", params, 0)
    assert key == store.cache_key("gguf:abc", "prompt", dict(reversed(params.items())), 0)
    assert key != store.cache_key("gguf:abc", "prompt", params, 1)
    assert key != store.cache_key("gguf:abd", "prompt", params, 0)
    assert key != store.cache_key("gguf:abc", "prompt ", params, 0)
    call = store.CachedCall(key, "gguf:abc", store.prompt_hash("prompt"),
                            store.canonical_params(params), 0, "Answer: 4", prompt_tokens=3,
                            completion_tokens=4, latency_s=0.1)
    store.cache_put(db, call)
    store.cache_put(db, store.CachedCall(key, "gguf:abc", "h", "{}", 0, "different"))
    assert store.cache_get(db, key).response == "Answer: 4"
    assert store.cache_get(db, "missing") is None
    many = store.cache_get_many(db, [key, "missing"] * 600)
    assert list(many) == [key]


def test_events_tail_and_latest_progress(db):
    run_id = store.create_run(db, "r", {})
    for i in range(5):
        store.add_event(db, run_id, "progress", stage="teacher", done=i, total=5)
    store.add_event(db, run_id, "progress", stage="train", done=1, total=10, data={"loss": 2.5})
    store.add_event(db, run_id, "log", message="done")
    progress = store.latest_progress(db, run_id)
    assert progress["teacher"].done == 4 and progress["train"].data == {"loss": 2.5}
    tail = store.recent_events(db, run_id, limit=2)
    assert [e.kind for e in tail] == ["progress", "log"]
    first = store.events_since(db, run_id, 0, limit=3)
    assert len(first) == 3 and store.events_since(db, run_id, first[-1].id)[0].id > first[-1].id


def test_exports_are_recorded(db):
    run_id = store.create_run(db, "r", {})
    store.record_export(db, run_id=run_id, iteration=2, fmt="trl-messages", path="/tmp/x",
                        rows=10, manifest={"rows": 10})
    (record,) = store.list_exports(db, run_id)
    assert record.manifest == {"rows": 10} and record.format == "trl-messages"

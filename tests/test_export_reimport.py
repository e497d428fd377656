"""Round trip (issue 6, part 3): an exported JSONL comes back as a dataset, gold answers included,
and a student trains from an export through the datasets library."""

from __future__ import annotations

import json
import math

import pytest

import store
from engine.export import (BadExportFile, ExportFilters, export_answer_type, export_run,
                           load_export, records_from_export)
from tests.test_export_fixtures import world  # noqa: F401  (fixture)

EXAMPLE_KEYS = {"ext_id", "split", "question", "answer", "answer_raw", "rationale", "choices",
                "category", "position"}


@pytest.mark.parametrize("fmt", ["trl-messages", "trl-prompt-completion"])
def test_an_exported_jsonl_imports_back_as_a_dataset(world, tmp_path, fmt):
    out = tmp_path / "out" / "refined.jsonl"
    export_run(world.db, world.run_id, fmt=fmt, out=out)
    records = records_from_export(out)
    assert all(set(r) == EXAMPLE_KEYS for r in records)
    assert [r["position"] for r in records] == [1, 2, 3, 4, 5, 6]
    new_id = store.get_or_create_dataset(world.db, "reimported", export_answer_type(out))
    assert store.add_examples(world.db, new_id, records) == 6
    assert store.add_examples(world.db, new_id, records) == 0  # same ext_ids: nothing twice
    back = {e.ext_id: e for e in store.load_examples(world.db, new_id, "train")}
    original = {e.ext_id: e for e in store.load_examples(world.db, world.dataset_id, "train")}
    exported = {r["ext_id"]: r for r in load_export(out)}
    assert sorted(back) == ["t0", "t1", "t2", "t3", "t4", "t5"]
    for ext_id, example in back.items():
        assert example.question == original[ext_id].question
        assert (example.answer, example.answer_raw) == (original[ext_id].answer,
                                                        original[ext_id].answer_raw)
        assert example.category == original[ext_id].category
        assert example.rationale == exported[ext_id]["rationale"]  # the refined one, not gold
    assert back["t2"].rationale == world.text["human2"]


def test_reimport_without_a_manifest_and_without_ids(world, tmp_path):
    out = tmp_path / "out" / "refined.jsonl"
    export_run(world.db, world.run_id, fmt="trl-messages", out=out)
    copy = tmp_path / "copied.jsonl"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    for row in rows:
        row.pop("ext_id")
    copy.write_text("".join(json.dumps(row) + "\n" for row in rows))
    records = records_from_export(copy)
    assert len({r["ext_id"] for r in records}) == 6 and all(len(r["ext_id"]) == 40 for r in records)
    assert records_from_export(copy)[0]["ext_id"] == records[0]["ext_id"]  # stable


@pytest.mark.parametrize("row, message", [
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "r"}]},
     "line 2: no answer .the gold answer travels in the `answer` column"),
    ({"messages": [{"role": "user", "content": "q"}], "answer": "1"}, "line 2: not a trl-messages"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "r"}],
      "answer": "1", "split": "dev"}, "split 'dev'"),
])
def test_a_bad_row_is_named(tmp_path, row, message):
    good = {"messages": [{"role": "user", "content": "q0"}, {"role": "assistant", "content": "r"}],
            "answer": "3"}
    path = tmp_path / "hand.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(BadExportFile, match=message):
        records_from_export(path)


def test_a_broken_jsonl_line_is_named(tmp_path):
    path = tmp_path / "hand.jsonl"
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "r"}],
            "answer": "3"}
    path.write_text(json.dumps(good) + "\n{broken\n")
    with pytest.raises(BadExportFile, match="hand.jsonl, line 2: not valid JSON"):
        records_from_export(path)


def test_an_export_trains_the_tiny_student_and_is_evaluated(world, tmp_path, request):
    """export -> datasets.load_dataset -> train the tiny student one epoch -> evaluate."""
    pytest.importorskip("engine.student.training")
    try:
        tiny = request.getfixturevalue("tiny_student")
    except pytest.FixtureLookupError:
        pytest.skip("the tiny student fixture is not available")
    from datasets import load_dataset

    from engine.grading.answers import grade
    from engine.student.generation import generate_answers

    out = tmp_path / "out" / "refined.jsonl"
    export_run(world.db, world.run_id, fmt="trl-messages", out=out,
               filters=ExportFilters(correct_only=True))
    ds = load_dataset("json", data_files=str(out), split="train",
                      cache_dir=str(tmp_path / "hf-cache"))
    pairs = [(row["messages"][0]["content"], row["messages"][1]["content"]) for row in ds]
    result = tiny.train(tmp_path / "student", examples=pairs, epochs=1)
    assert result.steps >= 1 and math.isfinite(result.final_loss) and result.examples == 4
    outputs = generate_answers(tiny.model_dir, result.checkpoint, [q for q, _ in pairs],
                               max_new_tokens=8, batch_size=4, dtype="float32", device="cpu")
    graded = [grade(o.text, row["answer"], "number") for o, row in zip(outputs, ds)]
    assert len(graded) == 4 and all(isinstance(g.correct, bool) for g in graded)

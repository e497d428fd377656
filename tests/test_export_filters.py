"""Which rationale version each example gets, and what every filter removes (counted per stage)."""

from __future__ import annotations

import pytest

import store
from engine.export import ExportEmpty, ExportError, ExportFilters, export_run, load_export
from engine.export.filters import select_records
from tests.test_export_fixtures import world  # noqa: F401  (fixture)


def select(world, iteration=2, **filters):
    run = store.get_run(world.db, world.run_id)
    return select_records(world.db, run, iteration, ExportFilters(**filters))


def by_ext(selection) -> dict[str, dict]:
    return {r["ext_id"]: r for r in selection.records}


def test_default_export_is_the_training_set_of_the_iteration_with_human_edits(world):
    sel = select(world)
    rows = by_ext(sel)
    assert sorted(rows) == ["t0", "t1", "t2", "t3", "t4", "t5"]  # t6 excluded
    assert rows["t0"]["rationale"] == world.text["ref0"]
    assert rows["t1"]["rationale"] == world.text["init1"]  # its refinement was not kept
    assert rows["t1"]["iteration"] == 1
    assert rows["t2"]["rationale"] == world.text["human2"]
    assert rows["t2"]["rationale_source"] == "human"
    assert rows["t3"]["rationale"] == world.text["human3"]
    assert rows["t4"]["rationale_source"] == "teacher_hinted"
    assert all(world.text["otherrun0"] != r["rationale"] for r in sel.records)
    assert sel.counts == {"candidates": 7, "after_excluded": 6, "after_correct_only": 6,
                          "after_refined_only": 6, "after_tags": 6, "written": 6}


def test_rows_carry_provenance_and_the_gold_answer(world):
    row = by_ext(select(world))["t0"]
    example = store.get_example(world.db, world.ex["t0"])
    assert row["question"] == example.question and row["answer"] == "5"
    assert row["answer_raw"] == "#### 5" and row["category"] == "cat0"
    assert (row["dataset"], row["split"], row["run_id"]) == ("arith-demo", "train", world.run_id)
    assert (row["template"], row["prompt_hash"], row["correct"]) == (
        "refine_answer_only", "ph-ref-0", True)
    assert store.get_rationale(world.db, row["rationale_id"]).text == row["rationale"]


def test_correct_only_keeps_verified_rationales(world):
    sel = select(world, correct_only=True)
    assert sorted(by_ext(sel)) == ["t0", "t1", "t2", "t4"]  # t3 ungraded, t5 wrong
    assert sel.counts["after_correct_only"] == 4 and sel.counts["written"] == 4


def test_refined_only_keeps_refined_rationales_and_human_edits_of_them(world):
    sel = select(world, refined_only=True)
    assert sorted(by_ext(sel)) == ["t0", "t2", "t5"]  # t3 is a human edit of an initial one
    both = select(world, refined_only=True, correct_only=True)
    assert sorted(by_ext(both)) == ["t0", "t2"]
    assert [both.counts[s] for s in ("after_correct_only", "after_refined_only")] == [4, 2]


def test_without_prefer_human_the_teachers_version_is_used(world):
    rows = by_ext(select(world, prefer_human=False))
    assert rows["t2"]["rationale"] == world.text["ref2"]
    assert rows["t2"]["rationale_source"] == "teacher_refined"
    assert rows["t3"]["rationale"] == world.text["init3"]
    assert rows["t0"]["rationale"] == world.text["ref0"]
    # the teacher's t3 was graded correct, the human edit was not: correct-only now keeps it
    assert sorted(by_ext(select(world, prefer_human=False, correct_only=True))) == [
        "t0", "t1", "t2", "t3", "t4"]


def test_tags_include_any_and_exclude_all(world):
    assert sorted(by_ext(select(world, tags=("hard",)))) == ["t2", "t5"]
    assert sorted(by_ext(select(world, tags=("hard", "units")))) == ["t0", "t2", "t5"]
    assert sorted(by_ext(select(world, exclude_tags=("hard",)))) == ["t0", "t1", "t3", "t4"]
    sel = select(world, tags=("hard", "units"), exclude_tags=("units",))
    assert sorted(by_ext(sel)) == ["t2", "t5"] and sel.counts["after_tags"] == 2


def test_an_earlier_iteration_exports_what_that_iteration_trained_on(world):
    sel = select(world, iteration=1)
    rows = by_ext(sel)
    assert sorted(rows) == ["t0", "t1", "t2", "t3", "t4", "t5"]
    assert rows["t0"]["rationale"] == world.text["init0"]
    assert rows["t2"]["rationale"] == world.text["init2"]  # the human edit came at iteration 2
    assert rows["t3"]["rationale"] == world.text["human3"]
    assert sel.counts["candidates"] == 7


def test_excluding_after_the_fact_removes_the_example(world):
    store.set_excluded(world.db, world.ex["t0"])
    assert "t0" not in by_ext(select(world))
    assert select(world).counts["after_excluded"] == 5


def test_filters_that_leave_nothing_are_an_error_naming_the_counts(world, tmp_path):
    out = tmp_path / "out" / "x.jsonl"
    with pytest.raises(ExportEmpty, match="after refined only 0"):
        export_run(world.db, world.run_id, iteration=1, fmt="trl-messages", out=out,
                   filters=ExportFilters(refined_only=True))
    with pytest.raises(ExportEmpty, match="candidates 0"):
        export_run(world.db, world.run_id, fmt="trl-messages", out=out,
                   filters=ExportFilters(split="val"))
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_best_means_the_runs_best_iteration(world, tmp_path):
    store.mark_best_iteration(world.db, world.run_id, 1)
    result = export_run(world.db, world.run_id, fmt="trl-messages", out=tmp_path / "b.jsonl")
    assert result.iteration == 1 and result.manifest["iteration_requested"] == "best"
    assert {r["ext_id"]: r["rationale"] for r in load_export(result.path)}["t0"] == \
        world.text["init0"]


def test_unknown_iteration_format_or_missing_best_are_clear_errors(world, tmp_path):
    with pytest.raises(store.NotFound, match="no iteration 7 .it has 0, 1, 2"):
        export_run(world.db, world.run_id, iteration=7, fmt="hf", out=tmp_path / "d")
    with pytest.raises(ExportError, match="unknown export format 'csv'"):
        export_run(world.db, world.run_id, fmt="csv", out=tmp_path / "d")
    with pytest.raises(ExportError, match="no best iteration"):
        export_run(world.db, world.other_run_id, fmt="hf", out=tmp_path / "d")
    with pytest.raises(store.NotFound):
        export_run(world.db, 999, fmt="hf", out=tmp_path / "d")

"""`undo-tui export` end to end through undo_tui.cli.main, on a store file."""

from __future__ import annotations

import json

import pytest

import store
from engine.export import load_export
from tests.test_export_fixtures import world  # noqa: F401  (fixture)
from undo_tui.cli import main


def export(store_path, *args) -> int:
    return main(["--store", str(store_path), "export", *map(str, args)])


def test_export_prints_counts_and_paths_and_records_the_export(world, store_path, tmp_path,
                                                               capsys):
    out = tmp_path / "out" / "refined.jsonl"
    assert export(store_path, world.run_id, "--format", "trl-messages", "--out", out) == 0
    printed = capsys.readouterr().out
    assert "iteration 2 as trl-messages: 6 rows" in printed
    assert "candidates" in printed and "after excluded" in printed and "written" in printed
    assert f"data:         {out}" in printed
    assert f"manifest:     {out}.manifest.json" in printed
    assert len(load_export(out)) == 6
    assert store.list_exports(world.db, world.run_id)[0].path == str(out)


def test_filters_on_the_command_line_change_the_counts(world, store_path, tmp_path, capsys):
    out = tmp_path / "out" / "lf.json"
    code = export(store_path, "refine-demo", "--iteration", "2", "--format",
                  "llamafactory-sharegpt", "--out", out, "--correct-only", "--refined-only",
                  "--tag", "hard", "--tag", "units", "--exclude-tag", "units")
    assert code == 0
    printed = capsys.readouterr().out
    counts = json.loads(out.with_name("lf.json.manifest.json").read_text())["counts"]
    assert counts == {"candidates": 7, "after_excluded": 6, "after_correct_only": 4,
                      "after_refined_only": 2, "after_tags": 1, "written": 1}
    assert f"dataset_info: {out.parent / 'dataset_info.json'} (dataset 'lf')" in printed
    assert [r["ext_id"] for r in load_export(out)] == ["t2"]


def test_no_prefer_human_and_split_reach_the_filters(world, store_path, tmp_path):
    out = tmp_path / "out" / "teacher.parquet"
    assert export(store_path, world.run_id, "--format", "parquet", "--out", out,
                  "--no-prefer-human", "--split", "train") == 0
    rows = {r["ext_id"]: r for r in load_export(out)}
    assert rows["t2"]["rationale"] == world.text["ref2"]
    manifest = json.loads(out.with_name("teacher.parquet.manifest.json").read_text())
    assert manifest["filters"]["prefer_human"] is False and manifest["filters"]["split"] == "train"


def test_an_existing_output_needs_force(world, store_path, tmp_path, capsys):
    out = tmp_path / "out" / "d"
    assert export(store_path, world.run_id, "--format", "hf", "--out", out) == 0
    capsys.readouterr()
    assert export(store_path, world.run_id, "--format", "hf", "--out", out, "--iteration", 1) == 2
    err = capsys.readouterr().err
    assert f"{out} already exists; pass --force" in err and err.count("\n") == 1
    assert export(store_path, world.run_id, "--format", "hf", "--out", out, "--iteration", 1,
                  "--force") == 0
    assert json.loads((out / "manifest.json").read_text())["iteration"] == 1


@pytest.mark.parametrize("args, message", [
    (["--iteration", "9"], "run 1 has no iteration 9"),
    (["--split", "val"], "nothing to export"),
    (["--tag", "nosuchtag"], "after tags 0"),
])
def test_bad_requests_exit_non_zero_with_one_clear_line(world, store_path, tmp_path, capsys,
                                                        args, message):
    out = tmp_path / "out" / "x.jsonl"
    assert export(store_path, world.run_id, "--format", "trl-messages", "--out", out, *args) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_unknown_run_and_bad_arguments(world, store_path, tmp_path, capsys):
    out = tmp_path / "x.jsonl"
    assert export(store_path, "nope", "--format", "trl-messages", "--out", out) == 2
    assert "no run named 'nope'" in capsys.readouterr().err
    store.create_run(world.db, "refine-demo", {})
    assert export(store_path, "refine-demo", "--format", "trl-messages", "--out", out) == 2
    assert "2 runs are named 'refine-demo'" in capsys.readouterr().err
    for bad in (["--iteration", "two"], ["--format", "csv"]):
        with pytest.raises(SystemExit) as exit_info:
            export(store_path, world.run_id, "--out", out, *(["--format", "hf"] + bad))
        assert exit_info.value.code == 2

"""Bad input to `undo-tui transfer`: a clear message naming the file, row or field, exit code 2,
and nothing written to the store (no run, no rationale, no export row)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import store
from tests.transfer_helpers import build_source_store
from undo_tui.cli import main


@pytest.fixture
def source(tmp_path):
    store_path = tmp_path / "store.db"
    ids = build_source_store(store_path)
    export = tmp_path / "refined.jsonl"
    assert main(["--store", str(store_path), "export", str(ids["run"]), "--format",
                 "trl-prompt-completion", "--out", str(export)]) == 0
    return store_path, ids, export


@pytest.fixture
def student(tmp_path) -> Path:
    """A directory standing in for a model: these commands fail before any model is loaded."""
    path = tmp_path / "student"
    path.mkdir()
    (path / "config.json").write_text("{}")  # passes the cheap check, never loaded
    return path


def counts(store_path: Path) -> tuple[int, int, int]:
    db = store.open_store(store_path)
    try:
        return tuple(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                     for table in ("runs", "rationales", "exports"))
    finally:
        db.close()


def fails(capsys, store_path: Path, *args) -> str:
    """Run the command, expect exit code 2 and no change to the store; return the message."""
    before = counts(store_path)
    capsys.readouterr()
    assert main(["--store", str(store_path), "transfer", *map(str, args)]) == 2
    assert counts(store_path) == before
    return capsys.readouterr().err


def test_missing_export_path(capsys, source, student, tmp_path):
    store_path, _, _ = source
    err = fails(capsys, store_path, "--from-export", tmp_path / "nope.jsonl", "--student",
                student)
    assert "nope.jsonl: no such export file or directory" in err


def test_export_without_its_manifest(capsys, source, student, tmp_path):
    store_path, _, export = source
    lonely = tmp_path / "lonely.jsonl"
    shutil.copyfile(export, lonely)
    err = fails(capsys, store_path, "--from-export", lonely, "--student", student)
    assert "lonely.jsonl: no manifest beside it (expected lonely.jsonl.manifest.json)" in err


def test_unknown_run_and_iteration(capsys, source, student):
    store_path, ids, _ = source
    assert "no run 99" in fails(capsys, store_path, "--from-run", 99, "--student", student)
    assert "no run named 'nope'" in fails(capsys, store_path, "--from-run", "nope",
                                          "--student", student)
    err = fails(capsys, store_path, "--from-run", ids["run"], "--iteration", 7, "--student",
                student)
    assert "run 1 has no iteration 7 (it has 0, 1, 2)" in err


def test_missing_student(capsys, source, tmp_path):
    store_path, ids, _ = source
    err = fails(capsys, store_path, "--from-run", ids["run"], "--student", tmp_path / "none")
    assert "none': no such file or directory" in err
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    err = fails(capsys, store_path, "--from-run", ids["run"], "--student", empty)
    assert "empty-dir': not a Hugging Face model directory (no config.json" in err
    text = tmp_path / "model.gguf"
    text.write_text("not a model")
    err = fails(capsys, store_path, "--from-run", ids["run"], "--student", text)
    assert "model.gguf': not a GGUF file" in err


def test_dataset_not_in_the_store_is_an_error_saying_what_to_import(capsys, source, student,
                                                                    tmp_path):
    _, _, export = source
    other = tmp_path / "other.db"
    store.open_store(other).close()
    err = fails(capsys, other, "--from-export", export, "--student", student)
    assert "its dataset 'arith' is not in this store" in err
    assert "undo-tui import PATH --dataset arith" in err


def test_row_that_is_not_in_the_dataset_is_named(capsys, source, student):
    store_path, _, export = source
    rewrite(export, 3, ext_id="made-up")
    err = fails(capsys, store_path, "--from-export", export, "--student", student)
    assert f"{export}, line 3: example 'made-up' is not in dataset 'arith'" in err


def test_val_rows_are_refused(capsys, source, student):
    store_path, ids, export = source
    db = store.open_store(store_path)
    val = store.load_examples(db, ids["dataset"], "val")[0]
    db.close()
    rewrite(export, 2, ext_id=val.ext_id)
    err = fails(capsys, store_path, "--from-export", export, "--student", student)
    assert f"line 2: example {val.ext_id!r} is in the val split" in err


def test_flags_that_do_not_apply_and_fixed_config_keys(capsys, source, student, tmp_path):
    store_path, ids, export = source
    err = fails(capsys, store_path, "--from-export", export, "--iteration", 1, "--student",
                student)
    assert "--iteration goes with --from-run" in err
    err = fails(capsys, store_path, "--from-export", export, "--refined-only", "--student",
                student)
    assert "--refined-only go with --from-run" in err
    toml = tmp_path / "t.toml"
    toml.write_text("[student]\nmodel = \"other\"\n")
    err = fails(capsys, store_path, "--from-run", ids["run"], "--student", student, "--config",
                toml)
    assert "t.toml: student.model cannot be set for a transfer run" in err
    toml.write_text("[training]\nepochz = 3\n")
    err = fails(capsys, store_path, "--from-run", ids["run"], "--student", student, "--config",
                toml)
    assert "t.toml: training.epochz: unknown key" in err


def rewrite(export: Path, line: int, **changes) -> None:
    """Change one row of a JSONL export and drop the manifest's checksum (a deliberate edit)."""
    lines = export.read_text().splitlines()
    row = json.loads(lines[line - 1])
    for key, value in changes.items():
        if value is None:
            continue
        row[key] = value
    lines[line - 1] = json.dumps(row)
    export.write_text("\n".join(lines) + "\n")
    manifest = export.with_name(export.name + ".manifest.json")
    data = json.loads(manifest.read_text())
    data.pop("data_sha256")
    manifest.write_text(json.dumps(data))

"""`undo-tui config schema` and `config check`: what an editor and a user get while writing a run
file. The schema is checked with a real JSON Schema validator, as a TOML language server would."""

from __future__ import annotations

import io
import json
import tomllib
from contextlib import redirect_stdout
from pathlib import Path

import jsonschema
import pytest

from engine.config import RunConfig
from engine.wheels.config import SweepConfig
from undo_tui.cli import main

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "sample_runs" / "configs").glob("*.toml"))
SWEEPS = sorted((ROOT / "sample_runs" / "wheels").glob("*.toml"))


def printed_schema(*flags: str) -> dict:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["config", "schema", *flags]) == 0
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def schema():
    """What `undo-tui config schema` prints."""
    return printed_schema()


@pytest.fixture(scope="module")
def sweep_schema():
    """What `undo-tui config schema --sweep` prints."""
    return printed_schema("--sweep")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_schema_accepts_the_shipped_configs(schema, path):
    jsonschema.Draft202012Validator(schema).validate(tomllib.loads(path.read_text()))


@pytest.mark.parametrize("table, where", [
    ({"dataset": {"name": "d"}, "loop": {"keep": "most"}}, ["loop", "keep"]),
    ({"dataset": {"name": "d"}, "loop": {"kep": "all"}}, ["loop"]),
    ({"dataset": {"name": "d"}, "teacher": {"backend": "openai", "model": "m"}}, ["teacher"]),
    ({"dataset": {"name": "d"}, "teacher": {"timeout_s": 4.0}}, ["teacher"]),
    ({"loop": {}}, []),
])
def test_the_schema_refuses_what_the_parser_refuses(schema, table, where):
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(table))
    assert errors and list(errors[0].absolute_path) == where


@pytest.mark.parametrize("model", [RunConfig, SweepConfig], ids=["run", "sweep"])
def test_every_key_has_a_description(schema, sweep_schema, model):
    """Editors show it on hover and completion; a new key without one fails here."""
    printed = schema if model is RunConfig else sweep_schema
    missing = [f"{name}.{key}" for name, definition in printed["$defs"].items()
               for key, prop in definition.get("properties", {}).items()
               if key != "backend" and not prop.get("description")]
    assert not missing, missing
    assert all(prop.get("description") for prop in printed["properties"].values())
    assert set(printed["properties"]) == set(model.model_fields)


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_the_sweep_schema_accepts_the_shipped_sweeps_and_refuses_what_the_parser_refuses(
        sweep_schema, path):
    tables = tomllib.loads(path.read_text())
    jsonschema.Draft202012Validator(sweep_schema).validate(tables)
    tables["decoding"] = {**tables.get("decoding", {}), "batch_size": 0}
    errors = list(jsonschema.Draft202012Validator(sweep_schema).iter_errors(tables))
    assert errors and list(errors[0].absolute_path) == ["decoding", "batch_size"]


def test_check_says_ok_or_names_the_key(tmp_path, capsys):
    assert main(["config", "check", str(ROOT / "sample_runs" / "configs" / "demo.toml")]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith("demo.toml: OK (run 'demo' on dataset 'arith-demo'; teacher llamacpp "
                        "smollm2; student smollm2; at most 2 iteration(s))")
    assert "\n" not in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[dataset]\nname = "d"\n[teacher]\nbackend = "openai"\nmodel = "m"\n')
    assert main(["config", "check", str(bad)]) == 2
    assert capsys.readouterr().err == (f"undo-tui: error: {bad}: teacher.base_url: required (the "
                                       "server's endpoint, e.g. http://127.0.0.1:8000/v1)\n")
    assert main(["config", "check", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: no such config file" in capsys.readouterr().err


def test_check_knows_a_sweep_file_by_its_sweep_table(tmp_path, capsys):
    assert main(["config", "check", str(SWEEPS[0])]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith("wheels-arith.toml: OK (sweep 'wheels-arith' on dataset 'arith1' (test); "
                        "teacher smollm2; student ~/.cache/undo-tui/students/smollm2-10of30; "
                        "18 point(s))")
    bad = tmp_path / "sweep.toml"
    bad.write_text('[sweep]\ndataset = "d"\npolicies = ["oracle"]\n[models]\nstudent = "s"\n')
    assert main(["config", "check", str(bad)]) == 2
    assert capsys.readouterr().err == (f"undo-tui: error: {bad}: sweep.policies.0: 'oracle' is "
                                       "not allowed; choose one of 'student', 'teacher', "
                                       "'random', 'threshold', 'disagree', 'learned', "
                                       "'speculative'\n")

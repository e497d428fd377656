"""The command line as a new user meets it: --store in either place, RUN as an id or a name,
help for every option, the bare `undo-tui [STORE] [--run RUN]` form, unknown commands refused."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import store
from undo_tui.cli import _with_default_command, build_parser, main
from undo_tui.commands.run_arg import RunRef

# The least each command needs to parse.
MINIMAL = {
    "tui": [], "import": ["data.jsonl", "--dataset", "d"], "generate": ["--dataset", "d"],
    "run": ["run.toml"], "resume": ["1"], "stop": ["1"], "status": [],
    "export": ["1", "--format", "parquet", "--out", "x.parquet"],
    "export-model": ["1", "--format", "hf", "--out", "x"], "tracking": ["1"],
    "transfer": ["--from-run", "1", "--student", "smollm2"], "demo": [],
    "grade": ["outputs.jsonl"], "config": ["check", "run.toml"],
    "wheels": ["sweep", "sweep.toml"], "distill": ["distill.toml"],
    "student": ["shrink", "--from", "smollm2", "--keep-layers", "10", "--out", "small"],
}


def subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions
                  if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_has_an_argv_here():
    assert set(MINIMAL) == set(subparsers())


@pytest.mark.parametrize("command", sorted(MINIMAL))
def test_store_is_accepted_before_and_after_every_command(command, tmp_path):
    where = tmp_path / "s.db"
    parser = build_parser()
    before = parser.parse_args(["--store", str(where), command, *MINIMAL[command]])
    after = parser.parse_args([command, *MINIMAL[command], "--store", str(where)])
    assert before.store == after.store == where


def with_actions(parsers: dict[str, argparse.ArgumentParser]):
    """Every (name, parser), nested ACTION parsers (`config check`, `wheels sweep`) included."""
    for name, parser in parsers.items():
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                yield from with_actions({f"{name} {sub}": p for sub, p in action.choices.items()})


def test_every_option_and_argument_says_what_it_is_for():
    missing = [f"{name} {action.option_strings or action.dest}"
               for name, parser in with_actions(subparsers()) for action in parser._actions
               if not isinstance(action, argparse._HelpAction) and not action.help]
    assert not missing


def test_every_run_argument_takes_an_id_or_a_name_and_says_so():
    runs = [(name, action) for name, parser in subparsers().items()
            for action in parser._actions if action.metavar == "RUN"]
    commands = {name for name, _ in runs}
    assert {"status", "stop", "resume", "export", "transfer", "run", "tui"} <= commands
    for name, action in runs:
        assert action.type is RunRef, f"{name} {action.dest} parses RUN as {action.type}"
        assert "name" in action.help and "id" in action.help, f"{name}: {action.help}"


def test_usage_shows_the_bare_form_and_the_store_both_ways(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "undo-tui [--store STORE] [STORE] [--run RUN]" in out
    assert "--store may also follow the COMMAND" in out


def test_an_unknown_command_is_refused_not_taken_for_a_store(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["sweeps"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown command 'sweeps'" in err and "./sweeps" in err
    assert not (tmp_path / "sweeps").exists()
    # a path is still a store to open
    assert _with_default_command(["./sweeps"]) == ["tui", "./sweeps"]
    assert _with_default_command(["store.db", "--run", "2"]) == ["tui", "store.db", "--run", "2"]
    (tmp_path / "mystore").touch()
    assert _with_default_command(["mystore"]) == ["tui", "mystore"]


def test_status_stop_resume_take_a_run_name_and_the_store_after_the_command(tui_store, capsys):
    path, ids = tui_store
    assert main(["status", "undo-arith", "--store", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"run {ids['run']} undo-arith: finished")
    assert main(["stop", "live-run", "--store", str(path)]) == 0
    assert f"run {ids['live']}: stop requested" in capsys.readouterr().out


def test_an_unknown_run_lists_the_runs_the_store_has(tui_store, capsys):
    path, ids = tui_store
    for argv in (["status", "7"], ["stop", "nope"], ["export", "7", "--format", "parquet",
                                                       "--out", "x.parquet"]):
        assert main([*argv, "--store", str(path)]) == 2
        err = capsys.readouterr().err
        assert f"{path}:" in err and "its runs: 1 undo-arith (finished), 2 baseline-equal" in err


def test_the_tui_refuses_a_run_the_store_does_not_have(tui_store, capsys):
    """`undo-tui PATH --run 7` stops before opening anything, like a missing store does."""
    path, _ = tui_store
    assert main([str(path), "--run", "7"]) == 2
    err = capsys.readouterr().err
    assert "no run 7" in err and "3 live-run (running)" in err
    assert main([str(path), "--run", "no-such-name"]) == 2
    assert "no run named 'no-such-name'" in capsys.readouterr().err


def test_a_run_command_on_a_missing_store_creates_nothing(tmp_path, capsys):
    missing = tmp_path / "missing.db"
    assert main(["status", "1", "--store", str(missing)]) == 2
    assert f"{missing}: no such store" in capsys.readouterr().err
    assert not missing.exists()


def test_stop_on_a_finished_run_is_refused_as_the_tui_refuses_it(tui_store, capsys):
    path, ids = tui_store
    assert main(["--store", str(path), "stop", str(ids["run"])]) == 2
    assert capsys.readouterr().err.strip() == \
        f"undo-tui: error: run {ids['run']} is finished: nothing to stop"
    db = store.open_store(path)
    try:
        assert not store.stop_requested(db, ids["run"])  # nothing was written
        assert store.why_not_stoppable(store.get_run(db, ids["run"])) == \
            f"run {ids['run']} is finished: nothing to stop"
    finally:
        db.close()


def test_a_name_shared_by_two_runs_asks_for_the_id(tui_store, capsys):
    path, _ = tui_store
    db = store.open_store(path)
    twin = store.create_run(db, "undo-arith", {})
    db.close()
    assert main(["status", "undo-arith", "--store", str(path)]) == 2
    assert f"2 runs are named 'undo-arith' (ids 1, {twin}); give the id" in \
        capsys.readouterr().err


def test_readme_documents_the_bare_form():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "`undo-tui [STORE] [--run RUN]`" in readme



def test_a_command_s_usage_names_the_command(capsys):
    with pytest.raises(SystemExit):
        main(["status", "--help"])
    assert capsys.readouterr().out.startswith("usage: undo-tui status [-h] [--store STORE] [RUN]")

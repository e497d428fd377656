"""The README's command table and the CLI must agree (Datasette-style: docs tested to match the CLI).

Every subcommand the CLI registers has a row in the README, every row names a real subcommand, and
every `--flag` a row shows is accepted by that subcommand.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from undo_tui.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def readme_rows() -> list[str]:
    text = README.read_text()
    section = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `undo-tui")]


def commands_in(row: str) -> list[tuple[str, list[str]]]:
    """(subcommand, flags) for each `undo-tui ...` code span in a row's first cell; a row like
    "`undo-tui resume RUN` / `stop RUN`" names several subcommands."""
    first_cell = row.split("|")[1]
    spans = re.findall(r"`([^`]+)`", first_cell)
    found = []
    for span in spans:
        words = span.split()
        if words[0] == "undo-tui":
            words = words[1:]
        if not words or not re.fullmatch(r"[a-z][a-z-]*", words[0]):
            continue  # the bare `undo-tui [STORE]` row
        found.append((words[0], [w for w in words[1:] if w.startswith("--")]))
    return found


def options_of(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of a parser and of its own subcommands (`wheels sweep`, `student
    shrink`)."""
    found = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= options_of(sub)
    return found


def test_every_subcommand_is_documented():
    documented = {name for row in readme_rows() for name, _ in commands_in(row)}
    missing = set(subcommands()) - documented
    assert not missing, f"README.md's command table lacks: {sorted(missing)}"


def test_every_documented_command_and_flag_exists():
    parsers = subcommands()
    for row in readme_rows():
        for name, flags in commands_in(row):
            assert name in parsers, f"README.md documents `undo-tui {name}`, which does not exist"
            known = options_of(parsers[name])
            unknown = [flag for flag in flags if flag not in known]
            assert not unknown, f"README.md shows `undo-tui {name}` with unknown flags {unknown}"

"""`undo-tui config schema` / `undo-tui config check FILE`: the run file's JSON Schema, for
editors, and checking one file without recording anything."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "config", help="print the run file's JSON Schema, or check a run file",
        description="Run configurations (TOML) are checked when a run starts; these commands "
                    "help while writing one. `schema` prints a JSON Schema that editors with a "
                    "TOML language server (Taplo, Even Better TOML) use to complete and check "
                    "run files; `check FILE` validates one file.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True,
                                    help="schema: print the JSON Schema; check: validate FILE")
    actions.add_parser("schema", help="print the JSON Schema of a run file",
                       description="Print the JSON Schema of a run file (TOML) on stdout.")
    check = actions.add_parser("check", help="validate a run file",
                               description="Validate a run file: exit 0 with a one-line "
                                           "summary, or exit 2 naming the file, the key and what "
                                           "is allowed.")
    check.add_argument("file", type=Path, metavar="FILE", help="run configuration (TOML)")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.action == "schema":
        import json

        from engine.config.schema import run_config_schema

        print(json.dumps(run_config_schema(), indent=2))
        return 0
    from engine.config import load_config

    config = load_config(args.file)
    print(f"{args.file}: OK ({summary(config)})")
    return 0


def summary(config) -> str:
    """What the file runs, in a few words: name, dataset, teacher, student, iteration cap."""
    return (f"run {config.run.name!r} on dataset {config.dataset.name!r}; teacher "
            f"{config.teacher.backend} {config.teacher.model}; student {config.student.model}; "
            f"at most {config.loop.max_iterations} iteration(s)")

"""`undo-tui config schema` / `undo-tui config check FILE`: the run file's (or, with --sweep, a
Training Wheels sweep file's; with --distill, a distillation file's) JSON Schema, for editors,
and checking one file of any kind without recording anything."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "config", help="print the run file's JSON Schema, or check a run file",
        description="Run configurations (TOML) are checked when a run starts; these commands "
                    "help while writing one. `schema` prints a JSON Schema that editors with a "
                    "TOML language server (Taplo, Even Better TOML) use to complete and check "
                    "run files (`schema --sweep`: Training Wheels sweep files; `--distill`: "
                    "distillation files); `check FILE` validates one file of any kind (a sweep "
                    "file has a [sweep] table, a distillation file a [distill] table).")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True,
                                    help="schema: print the JSON Schema; check: validate FILE")
    schema = actions.add_parser("schema", help="print the JSON Schema of a run file",
                                description="Print the JSON Schema of a run file (TOML) on "
                                            "stdout; --sweep: of a Training Wheels sweep "
                                            "file; --distill: of a distillation file.")
    kind = schema.add_mutually_exclusive_group()
    kind.add_argument("--sweep", action="store_true",
                      help="the schema of a sweep file (`undo-tui wheels sweep FILE`)")
    kind.add_argument("--distill", action="store_true",
                      help="the schema of a distillation file (`undo-tui distill FILE`)")
    check = actions.add_parser("check", help="validate a run, sweep or distillation file",
                               description="Validate a run file: exit 0 with a one-line "
                                           "summary, or exit 2 naming the file, the key and what "
                                           "is allowed.")
    check.add_argument("file", type=Path, metavar="FILE",
                       help="run, sweep or distillation configuration (TOML)")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.action == "schema":
        import json

        print(json.dumps(_schema(args.sweep, args.distill), indent=2))
        return 0
    from engine.config import config_from_dict, read_toml
    from engine.distill.config import distill_config_from_dict, is_distill_file
    from engine.wheels.config import is_sweep_file, sweep_config_from_dict

    tables = read_toml(args.file)
    if is_distill_file(tables):
        config = distill_config_from_dict(tables, str(args.file))
        print(f"{args.file}: OK ({distill_summary(config)})")
        return 0
    if is_sweep_file(tables):
        config = sweep_config_from_dict(tables, str(args.file))
        print(f"{args.file}: OK ({sweep_summary(config)})")
        return 0
    config = config_from_dict(tables, source=str(args.file))
    print(f"{args.file}: OK ({summary(config)})")
    return 0


def _schema(sweep: bool, distill: bool = False) -> dict:
    if distill:
        from engine.distill.config import distill_config_schema

        return distill_config_schema()
    if sweep:
        from engine.wheels.config import sweep_config_schema

        return sweep_config_schema()
    from engine.config.schema import run_config_schema

    return run_config_schema()


def summary(config) -> str:
    """What the file runs, in a few words: name, dataset, teacher, student, iteration cap."""
    return (f"run {config.run.name!r} on dataset {config.dataset.name!r}; teacher "
            f"{config.teacher.backend} {config.teacher.model}; student {config.student.model}; "
            f"at most {config.loop.max_iterations} iteration(s)")


def sweep_summary(config) -> str:
    """What a sweep file measures: name, dataset split, the pair, how many points."""
    return (f"sweep {config.sweep.name!r} on dataset {config.sweep.dataset!r} "
            f"({config.sweep.split}); teacher {config.models.teacher}; student "
            f"{config.models.student}; {len(config.points())} point(s)")


def distill_summary(config) -> str:
    """What a distillation file trains: name, dataset, the pair, the objective."""
    return (f"distillation {config.distill.name!r} on dataset {config.distill.dataset!r} "
            f"({config.distill.split}, {config.distill.data}); teacher {config.distill.teacher}; "
            f"student {config.distill.student}; objective {config.training.objective}")

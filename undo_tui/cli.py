"""The `undo-tui` console script: the TUI when run bare, subcommands for headless work.

Each subcommand lives in `undo_tui/commands/<name>.py` and exposes `add_parser(subparsers)` and
`run(args) -> int`. Heavy modules (torch, llama.cpp) are imported inside `run`, so `--help` and the
TUI start fast and the TUI process never loads a model.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from store.errors import UndoError
from store.paths import default_store_path

# Order here is the order in `undo-tui --help`.
COMMANDS = [
    "tui",
    "import_data",
    "generate",
    "run",
    "resume",
    "stop",
    "status",
    "export",
    "grade",
    "transfer",
    "wheels",
    "student",
    "demo",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="undo-tui",
        description="Iterative knowledge distillation (UNDO) workstation. Run bare to open the TUI.",
    )
    parser.add_argument(
        "--store",
        type=Path,
        default=None,
        help=f"SQLite store to use (default: {default_store_path()})",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"undo_tui.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"undo_tui.commands.{name}":
                continue  # command not built yet
            raise
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


def _with_default_command(argv: list[str]) -> list[str]:
    """`undo-tui [PATH]` means `undo-tui tui [PATH]`: insert the command when none is named.

    Only --store and --help belong to `undo-tui` itself; the first other option or argument
    starts the tui command's own (`undo-tui --run 1 PATH` as well as `undo-tui PATH --run 1`).
    """
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--store":
            i += 2
            continue
        if token.startswith("--store="):
            i += 1
            continue
        if token in ("-h", "--help"):
            return argv
        if token in COMMANDS or token == "import":
            return argv
        break
    return argv[:i] + ["tui"] + argv[i:]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(_with_default_command(argv))
    if args.store is None:
        args.store = default_store_path()
    try:
        return int(args._run(args) or 0)
    except UndoError as exc:
        print(f"undo-tui: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("undo-tui: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

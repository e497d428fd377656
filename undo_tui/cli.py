"""The `undo-tui` console script: the TUI when run bare, subcommands for headless work.

Each subcommand lives in `undo_tui/commands/<name>.py` and exposes `add_parser(subparsers)` and
`run(args) -> int`. Heavy modules (torch, llama.cpp) are imported inside `run`, so `--help` and the
TUI start fast and the TUI process never loads a model.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
import sys
import traceback
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
    debug = _take_debug(argv)
    parser = build_parser()
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (also UNDO_TUI_DEBUG=1)")
    args = parser.parse_args(_with_default_command(argv))
    if args.store is None:
        args.store = default_store_path()
    try:
        return int(args._run(args) or 0)
    except (UndoError, sqlite3.DatabaseError, OSError) as exc:
        if debug:
            traceback.print_exc()
        print(f"undo-tui: error: {_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print("undo-tui: interrupted", file=sys.stderr)
        return 130


def _take_debug(argv: list[str]) -> bool:
    """Remove every --debug from argv (it may stand anywhere); True if one was there."""
    found = "--debug" in argv
    argv[:] = [token for token in argv if token != "--debug"]
    return found or os.environ.get("UNDO_TUI_DEBUG", "") not in ("", "0")


def _message(exc: BaseException) -> str:
    """Expected errors as one message: ours as written, the system's with the file they name."""
    if isinstance(exc, UndoError):
        return str(exc)
    if isinstance(exc, sqlite3.DatabaseError):
        return f"the store cannot be used: {exc} (run with --debug for details)"
    name = exc.filename if isinstance(exc, OSError) else None
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{name}: {reason}" if name else reason


if __name__ == "__main__":
    sys.exit(main())

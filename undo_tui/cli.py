"""The `undo-tui` console script: the TUI when run bare, subcommands for headless work.

Each subcommand lives in `undo_tui/commands/<name>.py` and exposes `add_parser(subparsers)` and
`run(args) -> int`. Heavy modules (torch, llama.cpp) are imported inside `run`, so `--help` and the
TUI start fast and the TUI process never loads a model. Every command takes --store before or after
its name, and its RUN arguments (an id or a name) are resolved here, in that store, before it runs.
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
from undo_tui.commands.run_arg import resolve_run_args

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
    "export_model",
    "grade",
    "transfer",
    "tracking",
    "config",
    "wheels",
    "distill",
    "student",
    "demo",
]
# What a user types: `import` is a keyword, and a module's _ is a - (export_model: export-model).
COMMAND_NAMES = {module: "import" if module == "import_data" else module.replace("_", "-")
                 for module in COMMANDS}


USAGE = """undo-tui [--store STORE] [STORE] [--run RUN] [--poll SECONDS]
       undo-tui [--store STORE] COMMAND [ARGS ...]"""

EPILOG = """\
Without a COMMAND, undo-tui opens the terminal UI on STORE (else --store, else
the default store); --run RUN opens that run's dashboard.
--store may also follow the COMMAND, and RUN is a run's id or its name in every
command. `undo-tui COMMAND --help` describes each one."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="undo-tui", usage=USAGE, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # EPILOG's lines as written
        description="Iterative knowledge distillation (UNDO) workstation: a terminal UI over a\n"
                    "local store of runs, and commands for headless work.",
    )
    parser.add_argument("--store", type=Path, default=None, help=_store_help())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", prog="undo-tui")
    for name in COMMANDS:
        module = importlib.import_module(f"undo_tui.commands.{name}")
        sub = module.add_parser(subparsers)
        # also after the command (`status 1 --store S`); SUPPRESS keeps one given before it
        for accepting in (sub, *_nested(sub)):
            accepting.add_argument("--store", type=Path, default=argparse.SUPPRESS,
                                   help=_store_help())
        sub.set_defaults(_run=_with_runs_resolved(module))
    return parser


def _nested(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """A command's own subcommands (`config check`), which take --store after them too."""
    return [choice for action in parser._actions
            if isinstance(action, argparse._SubParsersAction) for choice in action.choices.values()]


def _store_help() -> str:
    return f"SQLite store to use (default: {default_store_path()})"


def _with_runs_resolved(module):
    """The command's run(args), called once its RUN arguments are ids in the chosen store
    (unless the command resolves them itself, after checking a store it was given otherwise)."""

    def run(args) -> int:
        if not getattr(module, "RESOLVES_RUNS", False):
            resolve_run_args(args, args.store)
        return module.run(args)

    return run


def _with_default_command(argv: list[str]) -> list[str]:
    """`undo-tui [PATH]` means `undo-tui tui [PATH]`: insert the command when none is named.

    Only --store and --help belong to `undo-tui` itself; the first other option or argument
    starts the tui command's own (`undo-tui --run 1 PATH` as well as `undo-tui PATH --run 1`).
    A first word that is neither a command nor a path (`undo-tui wheels`) is refused.
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
        if token in COMMAND_NAMES.values():
            return argv
        if not token.startswith("-") and not _looks_like_path(token):
            raise UnknownCommand(token)
        break
    return argv[:i] + ["tui"] + argv[i:]


class UnknownCommand(Exception):
    pass


def _looks_like_path(token: str) -> bool:
    """A store path has a directory part or a suffix (store.db), or is there on disk."""
    return os.sep in token or "/" in token or Path(token).suffix != "" or Path(token).exists()


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    try:
        return parser.parse_args(_with_default_command(argv))
    except UnknownCommand as exc:
        names = ", ".join(COMMAND_NAMES.values())
        parser.error(f"unknown command {str(exc)!r} (choose from {names}); to open a store "
                     f"file by that name, write ./{exc}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _take_debug(argv)
    parser = build_parser()
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (also UNDO_TUI_DEBUG=1)")
    args = _parse(parser, argv)
    args.store_given = args.store is not None  # a path the user names is the path used
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

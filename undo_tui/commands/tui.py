"""`undo-tui [PATH]` / `undo-tui tui [PATH]`: open the terminal UI on a store.

PATH, else --store, else the user's default store (created if missing, showing the first-run
screen). A PATH or --store that does not exist is an error rather than a new empty store, so a
typo does not silently open nothing. The app module is imported only here, and imports no model
code at all.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from undo_tui.commands.run_arg import add_run_argument, resolve_run_args

# --run is resolved in run(), once the store (PATH or --store) is known to exist.
RESOLVES_RUNS = True


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "tui", help="open the terminal UI (the default when no command is given)",
        description="Browse runs, iterations, student errors and rationale versions; start, "
                    "watch and stop runs; tag, note, exclude and edit examples.")
    parser.add_argument("path", type=Path, nargs="?", metavar="PATH",
                        help="store to open (default: --store, else the user's default store)")
    parser.add_argument("--poll", type=float, default=1.0, metavar="SECONDS",
                        help="how often to re-read running runs (default 1)")
    add_run_argument(parser, "--run", dest="open_run",
                     help="open this run's dashboard at start (its id or name); a run the store "
                          "does not have is an error that lists the runs it has")
    return parser


def resolve_store(args) -> Path:
    """The store to open, or an UndoError naming the path and what is wrong with it."""
    from store.errors import UndoError
    from store.paths import default_store_path

    path = Path(args.path or args.store or default_store_path()).expanduser()
    explicit = args.path is not None or getattr(args, "store_given", args.store is not None)
    if path.is_dir():
        raise UndoError(f"{path} is a directory; give the store's .db file")
    if not path.exists() and explicit:
        raise UndoError(f"{path}: no such store. Create one with "
                        f"`undo-tui --store {path} import ...`, or run `undo-tui` without a "
                        "path to open your default store")
    return path


def check_store(path: Path) -> None:
    """Open (creating or migrating) the store once, so a bad file fails with a clear message."""
    import store
    from store.errors import UndoError

    try:
        db = store.open_store(path)
    except sqlite3.DatabaseError as exc:
        raise UndoError(f"{path}: not an undo-tui store ({exc})") from exc
    except OSError as exc:
        raise UndoError(f"{path}: cannot be opened ({exc.strerror or exc})") from exc
    db.close()


def run(args) -> int:
    path = resolve_store(args)
    check_store(path)
    resolve_run_args(args, path)
    from undo_tui.app import UndoApp

    app = UndoApp(path, poll_interval=max(0.2, args.poll), open_run=args.open_run)
    app.run()
    return app.return_code or 0

"""RUN arguments: every command takes a run's id or its name, resolved the same way.

A parser declares its RUN with `add_run_argument`; the value stays the typed text (a RunRef)
until the command runs, when `resolve_run_args` turns it into the run's id against the store the
user chose (which may be named after the RUN: `status demo --store S`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

RUN_HELP = "a run's id or its name (`undo-tui status` lists them)"


class RunRef(str):
    """A RUN as typed on the command line: digits are an id, anything else a name."""


def add_run_argument(parser, *names: str, help: str = RUN_HELP, **kwargs) -> argparse.Action:
    kwargs.setdefault("metavar", "RUN")
    return parser.add_argument(*names, type=RunRef, help=help, **kwargs)


def resolve_run_args(args: argparse.Namespace, store_path: str | Path) -> None:
    """Replace every RunRef in args by its run's id; an UndoError names the store and its runs."""
    refs = {name: value for name, value in vars(args).items() if isinstance(value, RunRef)}
    if not refs:
        return
    import store
    from store.errors import UndoError

    path = Path(store_path).expanduser()
    if not path.is_file():
        raise UndoError(f"{path}: no such store (give --store, or import data first)")
    db = store.open_store(path)
    try:
        for name, ref in refs.items():
            try:
                setattr(args, name, store.find_run(db, ref).id)
            except UndoError as exc:
                raise UndoError(f"{path}: {exc}") from None
    finally:
        db.close()

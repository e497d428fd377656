"""`undo-tui resume RUN`: continue a stopped, failed or killed run from its last completed step."""

from __future__ import annotations

import importlib

from undo_tui.commands.run import add_preflight_flag
from undo_tui.commands.run_arg import add_run_argument

# Kinds computed in the resuming process itself, by the command module that creates them.
IN_PROCESS = {"wheels": "wheels", "distill": "distill"}


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "resume", help="continue a stopped, failed or killed run",
        description="Continue RUN where it stopped: finished teacher calls come from the cache, "
                    "stored predictions are kept, and only missing work is done.")
    add_run_argument(parser, "run_id")
    add_preflight_flag(parser)
    return parser


def run(args) -> int:
    import store
    from engine.config import stored_config
    from undo_tui.commands.run import check_components, drive_in_terminal

    db = store.open_store(args.store)
    try:
        stored = store.get_run(db, args.run_id)
        if stored.kind not in IN_PROCESS and stored.status != "finished":
            config = stored_config(stored)
            check_components(db, args.store, config, args)
    finally:
        db.close()
    print(f"run {stored.id} resuming: {stored.name}", flush=True)  # the TUI waits for this
    if stored.kind in IN_PROCESS:  # runs in this process, not by stages
        command = importlib.import_module(f"undo_tui.commands.{IN_PROCESS[stored.kind]}")
        return command.drive_in_terminal(args.store, args.run_id)
    return drive_in_terminal(args.store, args.run_id)

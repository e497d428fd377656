"""`undo-tui resume RUN`: continue a stopped, failed or killed run from its last completed step."""

from __future__ import annotations

import importlib

from undo_tui.commands.run import add_preflight_flag
from undo_tui.commands.run_arg import add_run_argument

# Kinds computed in the resuming process itself: the engine function that drives each.
IN_PROCESS = {"wheels": "engine.wheels.sweep:drive_sweep",
              "distill": "engine.distill.run:drive_distill",
              "ask": "engine.wheels.ask_run:drive_ask"}


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
        module, name = IN_PROCESS[stored.kind].split(":")
        drive = getattr(importlib.import_module(module), name)
        return drive_in_terminal(args.store, args.run_id, drive=drive)
    return drive_in_terminal(args.store, args.run_id)

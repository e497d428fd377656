"""`undo-tui resume RUN`: continue a stopped, failed or killed run from its last completed step."""

from __future__ import annotations


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "resume", help="continue a stopped, failed or killed run",
        description="Continue RUN where it stopped: finished teacher calls come from the cache, "
                    "stored predictions are kept, and only missing work is done.")
    parser.add_argument("run_id", type=int, metavar="RUN")
    return parser


def run(args) -> int:
    import store
    from undo_tui.commands.run import drive_in_terminal

    db = store.open_store(args.store)
    try:
        kind = store.get_run(db, args.run_id).kind
    finally:
        db.close()
    if kind == "wheels":  # a Training Wheels sweep runs in this process, not by stages
        from undo_tui.commands.wheels import drive_in_terminal as drive_sweep

        return drive_sweep(args.store, args.run_id)
    return drive_in_terminal(args.store, args.run_id)

"""`undo-tui stop RUN`: ask a running run to stop cleanly (it finishes the current step)."""

from __future__ import annotations

from undo_tui.commands.run_arg import add_run_argument


def add_parser(subparsers):
    parser = subparsers.add_parser("stop", help="ask a running run to stop cleanly")
    add_run_argument(parser, "run_id")
    return parser


def run(args) -> int:
    import store

    db = store.open_store(args.store)
    try:
        refusal = store.why_not_stoppable(store.get_run(db, args.run_id))
        if refusal:
            raise store.UndoError(refusal)
        store.request_stop(db, args.run_id)
        run = store.get_run(db, args.run_id)
    finally:
        db.close()
    print(f"run {args.run_id}: stop requested (status {run.status}); "
          f"continue later with `undo-tui resume {args.run_id}`")
    return 0

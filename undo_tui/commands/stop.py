"""`undo-tui stop RUN`: ask a running run to stop cleanly (it finishes the current step)."""

from __future__ import annotations


def add_parser(subparsers):
    parser = subparsers.add_parser("stop", help="ask a running run to stop cleanly")
    parser.add_argument("run_id", type=int, metavar="RUN")
    return parser


def run(args) -> int:
    import store

    db = store.open_store(args.store)
    try:
        store.request_stop(db, args.run_id)
        run = store.get_run(db, args.run_id)
    finally:
        db.close()
    print(f"run {args.run_id}: stop requested (status {run.status}); "
          f"continue later with `undo-tui resume {args.run_id}`")
    return 0

"""`undo-tui tracking RUN`: where a run's curves went and the command that opens them."""

from __future__ import annotations

from undo_tui.commands.run_arg import add_run_argument


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "tracking", help="where a run's training curves and figures are logged",
        description="Print the trackers a run reports to ([tracking] report_to) and how to open "
                    "them, e.g. `tensorboard --logdir ...`.")
    add_run_argument(parser, "run_id")
    return parser


def run(args) -> int:
    import store
    from engine.tracking.runs import where_lines

    db = store.open_store(args.store)
    try:
        run = store.get_run(db, args.run_id)
    finally:
        db.close()
    print("\n".join(where_lines(run, args.store)))
    return 0

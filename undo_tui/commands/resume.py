"""`undo-tui resume RUN`: continue a stopped, failed or killed run from its last completed step."""

from __future__ import annotations

from undo_tui.commands.run_arg import add_run_argument


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "resume", help="continue a stopped, failed or killed run",
        description="Continue RUN where it stopped: finished teacher calls come from the cache, "
                    "stored predictions are kept, and only missing work is done.")
    add_run_argument(parser, "run_id")
    return parser


def run(args) -> int:
    from undo_tui.commands.run import drive_in_terminal

    return drive_in_terminal(args.store, args.run_id)

"""Entry point of a stage child process: `python -m engine.loop.stage_main STAGE --store ...`.

Exit codes: 0 done, 3 stopped on request (what finished is stored), 1 failed (the cause stored as
an `error` event, the traceback in the log). Started by a launcher for several ranks, the stage
runs through engine/loop/stage_ranks.py (`follow`: a rank on another node, which takes its stage
from rank 0).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import traceback
from pathlib import Path

EXIT_STOPPED = 3  # the supervisor reads it: stopped on request, not failed


def die_with_parent() -> None:
    """Linux: get SIGKILL when the supervisor dies, so a killed run leaves no orphan writing."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="engine.loop.stage_main")
    parser.add_argument("stage", choices=["teacher", "train", "evaluate", "follow"])
    parser.add_argument("--store", type=Path, required=True)
    # --run-id under a launcher: its own parser refuses --run as an ambiguous prefix
    parser.add_argument("--run", "--run-id", dest="run", type=int, required=True)
    parser.add_argument("--iteration", type=int, required=True)
    parser.add_argument("--dist-timeout", type=int, default=600,
                        help="seconds a collective waits for a silent rank (under a launcher)")
    parser.add_argument("--cpu", action="store_true",
                        help="under a launcher: the ranks run on the CPU over gloo even where "
                             "GPUs are visible ([training] device = 'cpu')")
    args = parser.parse_args(argv)
    die_with_parent()
    from engine.loop.signals import ignore_terminal_signals

    ignore_terminal_signals()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from engine.loop.stage_ranks import run_ranks

        return run_ranks(args.stage, args.store, args.run, args.iteration, args.dist_timeout,
                         cpu=args.cpu)
    if args.stage == "follow":
        parser.error("follow: only a rank started by a launcher follows rank 0")

    from engine.loop.failures import record
    from engine.loop.stage_context import StageContext
    from engine.loop.stages import StageStopped, stage_evaluate, stage_train
    from engine.loop.teacher_stage import stage_teacher

    ctx = StageContext.load(args.store, args.run, args.iteration)
    handler = {"teacher": stage_teacher, "train": stage_train, "evaluate": stage_evaluate}
    try:
        handler[args.stage](ctx)
    except StageStopped:
        return EXIT_STOPPED
    except Exception as exc:  # the cause goes to the store, the traceback to the log
        traceback.print_exc()
        cause = record(ctx.db, args.run, args.stage, args.iteration, exc)
        print(f"stage {args.stage} failed: {cause}", file=sys.stderr, flush=True)
        return 1
    finally:
        ctx.db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

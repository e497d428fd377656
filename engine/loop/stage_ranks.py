"""A train or evaluate stage run by the ranks of a launcher (engine/loop/launcher.py).

Rank 0 is the stage as one process would run it, on the node with the store: it reads the
stage's inputs (a TrainJob or EvalJob), shares them with the other ranks, reads stop requests
and decides for all, and writes every event and row. The other ranks never open the store:
they get the stage and its inputs from rank 0, so a rank on another node only needs the model
files and the run's checkpoint directory at the same paths. A rank that fails makes the
launcher stop the others; the supervisor reports which rank (engine/loop/failures.py).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from engine.loop.failures import record
from engine.loop.stage_context import StageContext
from engine.loop.stage_main import EXIT_STOPPED
from engine.loop.stages import (StageStopped, evaluation_job, prediction_writer,
                                record_training, run_training, train_job)
from engine.student import ranks

JOBS = {"train": train_job, "evaluate": evaluation_job}  # rank 0: the inputs from the store


def run_ranks(stage: str, store_path: Path, run_id: int, k: int, timeout_s: int,
              cpu: bool = False) -> int:
    ranks.init(timeout_s, cuda=not cpu)
    try:
        return _lead(stage, store_path, run_id, k) if ranks.is_lead() else _follow()
    finally:
        ranks.finish()


def _lead(stage: str, store_path: Path, run_id: int, k: int) -> int:
    ctx = StageContext.load(store_path, run_id, k)
    shared = False
    try:
        job = JOBS[stage](ctx)
        ranks.share((stage, job))
        shared = True
        if job is not None:
            _lead_run(stage, ctx, job)
    except StageStopped:
        return EXIT_STOPPED
    except Exception as exc:  # the cause goes to the store, the traceback to the log
        if not shared:
            ranks.share((stage, None))  # the others have nothing to wait for
        traceback.print_exc()
        cause = record(ctx.db, run_id, stage, k, exc)
        print(f"stage {stage} failed: {cause}", file=sys.stderr, flush=True)
        return 1
    finally:
        ctx.db.close()
    return 0


def _lead_run(stage: str, ctx: StageContext, job) -> None:
    if stage == "train":
        result = run_training(job, ctx.progress_reporter("train"), ctx.stop_checker())
        record_training(ctx, job, result)
        return
    if not _evaluate(job, prediction_writer(ctx, job), ctx.stop_checker()):
        raise StageStopped


def _follow() -> int:
    stage, job = ranks.share(None)
    if job is None:
        return 0
    if stage == "train":
        run_training(job, None, None)
    else:
        _evaluate(job, None, None)
    return 0


def _evaluate(job, on_batch, should_stop) -> bool:
    """The evaluation's share of this rank; False when rank 0 stopped it."""
    from engine.student.generation import GenerationStopped, load_student
    from engine.student.sharded_generation import generate_sharded

    model, tokenizer = load_student(job.model, job.adapter, dtype=job.dtype)
    parts = [([e.question for e in examples], done) for _, examples, done in job.parts]
    try:
        generate_sharded(model, tokenizer, parts, job.max_new_tokens, job.batch_size, on_batch,
                         should_stop, job.system)
    except GenerationStopped:
        return False
    return True


"""The student's stages of one iteration: train on the kept rationales, evaluate every split.

Both are idempotent so that a resumed run repeats only what is missing: training writes its
checkpoint atomically and is skipped when a complete one is recorded; evaluation runs only the
examples that have no stored prediction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import store
from engine.config.training import TrainConfig
from engine.grading.answers import grade
from engine.loop.stage_context import StageContext
from engine.model_registry import model_path
from engine.tracking import TrainingTracking, training_tracking
from store.errors import UndoError


class StageStopped(Exception):
    """A stop request ended the stage early; what it finished is stored."""


def training_pairs(ctx: StageContext) -> list[tuple[str, str]]:
    """(question, rationale) pairs for iteration k, excluded examples left out.

    replace: per example the newest kept version up to k (a refined or human-edited rationale
    replaces the older one; an example whose refinement failed keeps its earlier version).
    accumulate: every kept version so far. A baseline run trains on iteration 1's data only.
    """
    up_to = 1 if ctx.config.run.kind == "baseline" else ctx.k
    examples = {e.id: e for e in ctx.examples("train", include_excluded=False)}
    if ctx.config.loop.train_set == "accumulate":
        rows = [r for i in range(1, up_to + 1)
                for r in store.rationales_for_iteration(ctx.db, ctx.run.id, i, kept_only=True)]
    else:
        rows = list(store.latest_kept_rationales(ctx.db, ctx.run.id, up_to).values())
    rows.sort(key=lambda r: (r.example_id, r.id))
    return [(examples[r.example_id].question, r.text) for r in rows if r.example_id in examples]


@dataclass
class TrainJob:
    """What a training needs, read from the store by rank 0 (and shared with the other ranks)."""
    model: Path
    pairs: list[tuple[str, str]]
    out_dir: Path
    config: TrainConfig
    init_adapter: Path | None
    state_dir: Path
    tracking: TrainingTracking | None = None  # where the Trainer's curves go ([tracking])


def stage_train(ctx: StageContext) -> None:
    job = train_job(ctx)
    if job is not None:
        result = run_training(job, ctx.progress_reporter("train"), ctx.stop_checker())
        record_training(ctx, job, result)


def train_job(ctx: StageContext) -> TrainJob | None:
    """None when a complete checkpoint is recorded (a resume after training finished)."""
    from engine.student.training import is_complete_checkpoint

    iteration = store.get_iteration(ctx.db, ctx.run.id, ctx.k)
    out_dir = ctx.checkpoint_dir(ctx.k)
    if iteration.checkpoint_path and is_complete_checkpoint(Path(iteration.checkpoint_path)):
        return None
    pairs = training_pairs(ctx)
    if not pairs:
        kept, attempted = store.teacher_yield(ctx.db, ctx.run.id, ctx.k)
        raise UndoError(
            f"iteration {ctx.k}: nothing to train on: the teacher kept {kept} of {attempted} "
            "rationales. Use a stronger teacher, or loop.keep = \"all\", \"retry\" or \"hinted\".")
    config = ctx.config.training
    init_adapter = None
    continues = ctx.config.loop.init == "continue" or ctx.config.run.kind == "baseline"
    if continues and ctx.k > 1:
        init_adapter = Path(store.get_iteration(ctx.db, ctx.run.id, ctx.k - 1).checkpoint_path)
    store.add_event(ctx.db, ctx.run.id, "log", stage="train", iteration=ctx.k,
                    message=f"training on {len(pairs)} rationales "
                            f"({'continuing' if init_adapter else 'from the base model'})")
    state_dir = out_dir.parent / "train-state"  # resumable Trainer checkpoints (stop, kill -9)
    tracking = training_tracking(ctx.config.tracking, ctx.store_path, ctx.run.id,
                                 f"iteration-{ctx.k}")
    return TrainJob(model_path(ctx.config.student.model), pairs, out_dir, config, init_adapter,
                    state_dir, tracking)


def run_training(job: TrainJob, progress, should_stop):
    """Every rank runs this; only rank 0 passes progress and should_stop (it decides for all)."""
    from engine.student.training import train_student

    return train_student(job.model, job.pairs, job.out_dir, job.config, progress=progress,
                         should_stop=should_stop, init_adapter=job.init_adapter,
                         state_dir=job.state_dir, tracking=job.tracking)


def record_training(ctx: StageContext, job: TrainJob, result) -> None:
    """Rank 0: the training's outcome into the store; a stopped training raises StageStopped."""
    config, init_adapter, state_dir = job.config, job.init_adapter, job.state_dir
    if result.resumed_from_step:
        store.add_event(ctx.db, ctx.run.id, "log", stage="train", iteration=ctx.k,
                        message=f"training resumed from its checkpoint at step "
                                f"{result.resumed_from_step}")
    if result.stopped:
        store.add_event(ctx.db, ctx.run.id, "log", stage="train", iteration=ctx.k,
                        message=f"training stopped at step {result.steps}; checkpoint in "
                                f"{state_dir} (a resume continues from that step)")
        raise StageStopped
    previous_epochs = 0.0
    if init_adapter is not None:
        previous_epochs = store.get_iteration(ctx.db, ctx.run.id, ctx.k - 1).epochs_total or 0.0
    store.upsert_iteration(ctx.db, ctx.run.id, ctx.k, checkpoint_path=str(job.out_dir),
                           train_loss=result.mean_loss, train_size=len(job.pairs),
                           epochs_total=previous_epochs + config.epochs)
    it = store.get_iteration(ctx.db, ctx.run.id, ctx.k)
    metrics = dict(it.metrics, train_steps=result.steps, train_tokens=result.tokens,
                   train_final_loss=result.final_loss, train_skipped=result.skipped,
                   train_resumed_from_step=result.resumed_from_step,
                   train_tokens_per_s=((result.tokens - result.resumed_tokens) / result.seconds
                                       if result.seconds else None))
    store.upsert_iteration(ctx.db, ctx.run.id, ctx.k, metrics=metrics)


def eval_splits(ctx: StageContext) -> list[str]:
    splits = ["val"]
    if ctx.config.dataset.test_split:
        splits.append("test")
    last = ctx.k >= ctx.config.loop.max_iterations
    if (ctx.k >= 1 and ctx.config.evaluation.evaluate_train and not last
            and ctx.config.run.kind == "undo"):
        splits.append("train")  # the next refinement step shows the teacher these answers
    return splits


@dataclass
class EvalJob:
    """What an evaluation needs: per split its examples and the indices already predicted."""
    model: Path
    adapter: Path | None
    dtype: str
    system: str | None
    max_new_tokens: int
    batch_size: int
    parts: list[tuple[str, list[store.Example], set[int]]]

    @property
    def total(self) -> int:
        return sum(len(examples) - len(done) for _, examples, done in self.parts)


def stage_evaluate(ctx: StageContext) -> None:
    """Evaluate every split, only the examples without a stored prediction.

    Batches are planned per split over all of its examples (see generate_in_batches), so a
    resumed evaluation decodes exactly the batches an uninterrupted one would: under bf16 the
    answers, and so the metrics, do not depend on where a kill happened.
    """
    from engine.student.generation import GenerationStopped

    job = evaluation_job(ctx)
    if job is None:
        return
    if ctx.config.evaluation.backend == "openai":
        decode = _served_decoder(ctx, job)  # a server answers (engine/loop/remote_eval.py)
    else:
        decode = _local_decoder(job)
    write = prediction_writer(ctx, job)
    for part, (_, examples, done) in enumerate(job.parts):
        try:
            decode([e.question for e in examples], done,
                   lambda batch, outputs, part=part: write(part, batch, outputs),
                   ctx.stop_checker())
        except GenerationStopped:
            raise StageStopped from None


def _local_decoder(job: EvalJob):
    """decode(questions, done, on_batch, should_stop) with the student loaded in this process."""
    from engine.student.generation import generate_in_batches, load_student

    model, tokenizer = load_student(job.model, job.adapter, dtype=job.dtype)

    def decode(questions, done, on_batch, should_stop) -> None:
        generate_in_batches(model, tokenizer, questions, job.max_new_tokens, job.batch_size,
                            on_batch, done=done, should_stop=should_stop, system=job.system)

    return decode


def _served_decoder(ctx: StageContext, job: EvalJob):
    """decode(...) answered by the OpenAI-compatible server of `[evaluation] backend`."""
    from engine.loop.remote_eval import generate_remote

    def decode(questions, done, on_batch, should_stop) -> None:
        generate_remote(ctx.config.evaluation, ctx.k, questions, on_batch, done=done,
                        system=job.system, should_stop=should_stop)

    return decode


def evaluation_job(ctx: StageContext) -> EvalJob | None:
    """None when every split is already predicted."""
    adapter = None
    if ctx.k >= 1:
        adapter = Path(store.get_iteration(ctx.db, ctx.run.id, ctx.k).checkpoint_path)
    evaluation = ctx.config.evaluation
    plan = []
    for split in eval_splits(ctx):
        examples = ctx.examples(split)
        stored = store.predicted_example_ids(ctx.db, ctx.run.id, ctx.k, split)
        done = {i for i, e in enumerate(examples) if e.id in stored}
        if len(done) < len(examples):
            plan.append((split, examples, done))
    if not plan:
        return None
    return EvalJob(model_path(ctx.config.student.model), adapter, evaluation.dtype,
                   ctx.config.student.system_prompt or None, evaluation.max_new_tokens,
                   evaluation.batch_size, plan)


def prediction_writer(ctx: StageContext, job: EvalJob):
    """on_batch(part, indices, outputs): grade and store a decoded batch, report progress."""
    progress = ctx.progress_reporter("evaluate")
    finished = 0

    def write(part: int, batch: list[int], outputs) -> None:
        nonlocal finished
        split, examples, done = job.parts[part]
        new = [(i, out) for i, out in zip(batch, outputs) if i not in done]
        _store_predictions(ctx, [((split, examples[i]), out) for i, out in new])
        finished += len(new)
        progress({"stage": "evaluate", "done": finished, "total": job.total})

    return write


def _store_predictions(ctx: StageContext, pairs) -> None:
    rows = []
    for (split, example), output in pairs:
        graded = grade(output.text, example.answer, ctx.dataset.answer_type,
                       choices=example.choices)
        rows.append(store.NewPrediction(ctx.run.id, ctx.k, split, example.id, output.text,
                                        graded.correct, graded.answer, graded.rule,
                                        graded.has_answer_line, output.new_tokens,
                                        flexible_correct=graded.flexible_correct,
                                        flexible_answer=graded.flexible_answer))
    store.add_predictions(ctx.db, rows)

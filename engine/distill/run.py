"""A distillation is a run (kind 'distill'), computed in the calling process like a sweep.

Driving it trains the student with train_student (any objective) on the data [distill] chooses,
its resumable Trainer state in runs/run-N/train-state, so a stop request (between steps) or a
kill -9 followed by `resume` continues from the last checkpoint. Every optimizer step is a
progress event (loss and the objective's parts); KL(teacher||student) on the held-out split is
measured on the live model before training, every kl_every_steps and after the last step
(metric events). The distilled student is then a complete model directory, runs/run-N/student
(a LoRA adapter is merged into its base), and its greedy strict accuracy on the eval split,
with n and a Wilson interval, is the run's result.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import store
from engine.distill.config import DistillRunConfig, distill_config_from_dict
from engine.distill.report import finish_reason
from engine.in_process import Echo, Stopped, drive_here, log_path, run_dir, stop_checker
from engine.model_registry import model_path
from engine.wheels.distill import held_out_continuations, pairs_for
from store import distill as store_distill

KIND = "distill"
Tick = Callable[[], None]


def create_distill(db, store_path: Path, config: DistillRunConfig) -> int:
    """Record the run; its training data and models are checked first, nothing is trained."""
    dataset = store.get_dataset(db, config.distill.dataset)
    pairs_for(db, config.distill, dataset.id)  # no data: said now, nothing recorded
    model_path(config.distill.teacher)
    model_path(config.distill.student)
    run_id = store.create_run(db, config.distill.name, config.model_dump(mode="json"), kind=KIND,
                              dataset_id=dataset.id, teacher=config.distill.teacher,
                              student=config.distill.student)
    store.update_run(db, run_id, log_path=log_path(store_path, run_id))
    return run_id


def drive_distill(store_path: Path, run_id: int, echo: Echo | None = None,
                  tick: Tick | None = None) -> store.Run:
    """Train, measure and evaluate in this process; returns the final run row. `tick` is
    called after each progress event (a terminal's progress line)."""

    def work(db, run: store.Run, echo: Echo) -> str:
        config = distill_config_from_dict(run.config, f"run {run_id} config")
        return _distill(db, Path(store_path), run, config, echo, tick or (lambda: None))

    return drive_here(store_path, run_id, KIND, "distillation", work, echo)


def _distill(db, store_path: Path, run: store.Run, config: DistillRunConfig, echo: Echo,
             tick: Tick) -> str:
    from engine.student.training import TRAIN_INFO, is_complete_checkpoint

    folder = run_dir(store_path, run.id)
    student_dir = folder / "student"
    should_stop = stop_checker(db, run.id)
    if is_complete_checkpoint(student_dir):
        echo(f"student distilled earlier: {student_dir}")
    else:
        store.update_run(db, run.id, stage="train")
        adapter = folder / "adapter"
        if not (config.training.lora and is_complete_checkpoint(adapter)):
            _train(db, store_path, run, config, echo, tick, should_stop)
        if config.training.lora:  # a complete model directory, not an adapter
            _merge(model_path(config.distill.student), adapter, student_dir,
                   config.training.device)
    store_distill.set_student(db, run.id, str(student_dir))
    trained = json.loads((student_dir / TRAIN_INFO).read_text(encoding="utf-8"))
    values = {"steps": trained["steps"], "final_loss": trained["final_loss"]}
    result = {"objective": config.training.objective, "data": trained.get("data", {})}
    kl = store_distill.kl_history(db, run.id)
    for when, column in (("before", "kl_before"), ("final", "kl_after")):
        point = next((p for p in kl if p.when == when), None)
        values[column] = point.mean if point is not None else None
        result[column] = point.__dict__ if point is not None else None
    if config.distill.eval_split != "none":
        store.update_run(db, run.id, stage="evaluate")
        evaluated, details = _evaluate(db, run, config, student_dir, tick, should_stop)
        values.update(evaluated)
        result.update(details)
    store_distill.save_outcome(db, run.id, values, result)
    return finish_reason(store_distill.get_outcome(db, run.id))


def _train(db, store_path: Path, run: store.Run, config: DistillRunConfig, echo: Echo,
           tick: Tick, should_stop) -> None:
    from engine.student.training import train_student
    from engine.tracking import training_tracking

    pairs, data = pairs_for(db, config.distill, run.dataset_id)
    training = config.training
    folder = run_dir(store_path, run.id)
    out_dir = folder / ("adapter" if training.lora else "student")
    teacher, callbacks = _kl_watch(db, store_path, run, config, echo)
    shared = teacher if teacher is not None and _same_teacher(config) else None
    echo(f"distilling ({training.objective}) on {data['data']}: {len(pairs)} examples")

    def progress(p: dict) -> None:
        store.add_event(db, run.id, "progress", stage=store_distill.LOSS_STAGE,
                        done=p.get("step"), total=p.get("total_steps"), data=p)
        tick()

    started = time.perf_counter()
    result = train_student(model_path(config.distill.student), pairs, out_dir, training,
                           progress=progress, should_stop=should_stop,
                           state_dir=folder / "train-state", callbacks=callbacks, teacher=shared,
                           tracking=training_tracking(config.tracking, store_path, run.id,
                                                      "train"))
    if result.stopped:
        raise Stopped
    if result.resumed_from_step:
        store.add_event(db, run.id, "stage", message="training resumed from its checkpoint at "
                                                     f"step {result.resumed_from_step}")
    _annotate(out_dir, {"data": data, "seconds": round(time.perf_counter() - started, 1)})
    echo(f"trained {result.steps} steps, final loss {result.final_loss:.4f}")


def _kl_watch(db, store_path: Path, run: store.Run, config: DistillRunConfig, echo: Echo):
    """(the teacher, [the KL callback]), or (None, []) when no held-out KL is measured."""
    from engine.distill.measure import KLWatcher
    from engine.student.distilling import load_teacher
    from engine.student.loading import default_device, load_tokenizer, resolve_dtype
    from engine.tracking import log_step
    from engine.wheels.pair import check_pair

    training = config.training
    student_tokenizer = load_tokenizer(model_path(config.distill.student))
    teacher_path = model_path(config.distill.teacher)
    pair = check_pair(student_tokenizer, load_tokenizer(teacher_path), "the student",
                      f"teacher {config.distill.teacher!r}")
    continuations = held_out_continuations(db, config.distill, run.dataset_id,
                                           student_tokenizer, training.system_prompt)
    if not continuations:
        return None, []
    device = training.device or default_device()
    teacher = load_teacher(teacher_path, resolve_dtype(training.dtype, device), device)

    def record(step: int, when: str, kl) -> None:
        store_distill.add_kl(db, run.id, step, when, kl.as_dict())
        log_step(config.tracking, store_path, run.id, "kl",
                 {"kl/mean": kl.mean, "kl/low": kl.low, "kl/high": kl.high, "kl/n": kl.n}, step)
        echo(f"step {step} ({when}): {kl}")

    return teacher, [KLWatcher(teacher, continuations, pair.vocab_size,
                               config.distill.kl_every_steps, record)]


def _same_teacher(config: DistillRunConfig) -> bool:
    """The objective learns from the teacher the KL is measured against (loaded once then)."""
    objective_teacher = config.training.teacher_model
    if config.training.objective == "sft" or not objective_teacher:
        return False
    return model_path(objective_teacher).resolve() == model_path(config.distill.teacher).resolve()


def _merge(base: Path, adapter: Path, out: Path, device: str | None) -> None:
    """A LoRA adapter merged into its base, saved as a complete model directory (with the
    adapter's training summary, written last, so the directory counts only when whole)."""
    from engine.student.atomic import atomic_dir, remove_stale_temps
    from engine.student.generation import load_student
    from engine.student.training import TRAIN_INFO

    model, tokenizer = load_student(base, adapter, "float32", device or "cpu")
    remove_stale_temps(out.parent, out.name)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        shutil.copyfile(adapter / TRAIN_INFO, tmp / TRAIN_INFO)
    shutil.rmtree(adapter, ignore_errors=True)


def _annotate(student_dir: Path, extra: dict) -> None:
    """Add the data summary and training time to the student's training summary."""
    from engine.student.atomic import write_atomic_text
    from engine.student.training import TRAIN_INFO

    path = student_dir / TRAIN_INFO
    info = {**json.loads(path.read_text(encoding="utf-8")), **extra}
    write_atomic_text(path, json.dumps(info, indent=1))


def _evaluate(db, run: store.Run, config: DistillRunConfig, student_dir: Path, tick: Tick,
              should_stop) -> tuple[dict, dict]:
    """(the outcome's columns: strict accuracy, n, interval; the rest for its result JSON:
    flexible accuracy, answer-line compliance, a few outputs)."""
    from engine.distill.measure import evaluate_student
    from engine.student.generation import GenerationStopped

    settings = config.distill
    dataset = store.get_dataset(db, run.dataset_id)
    examples = store.load_examples(db, dataset.id, settings.eval_split,
                                   limit=settings.eval_limit or None)
    if not examples:
        return {"eval_split": settings.eval_split, "n": 0}, {}

    def progress(p: dict) -> None:
        store.add_event(db, run.id, "progress", stage=store_distill.EVAL_STAGE,
                        done=p.get("done"), total=p.get("total"), data=p)
        tick()

    try:
        evaluation = evaluate_student(student_dir, examples, dataset.answer_type,
                                  config.training.system_prompt, settings.eval_max_new_tokens,
                                  settings.eval_batch_size, config.training.device, should_stop,
                                  progress)
    except GenerationStopped:
        raise Stopped from None
    strict = evaluation.strict
    return ({"eval_split": settings.eval_split, "n": strict.n, "correct": strict.correct,
             "accuracy_low": strict.low, "accuracy_high": strict.high}, evaluation.summary())

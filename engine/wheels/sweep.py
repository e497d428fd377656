"""A sweep is a run (kind 'wheels'): its points are planned when it is created, and driving it
computes the pending ones in order, storing each as it finishes.

Like every run: a stop request ends it between two batches (the point in progress is dropped,
`stopped`); a kill -9 leaves the finished points stored and `resume` computes only the rest;
progress events (stage 'wheels', and 'distill' while the student is fine-tuned) show it live.
The models are loaded once, in this process, and the distilled student is kept beside the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import store
from engine.in_process import Echo, Stopped, drive_here, log_path, run_dir, stop_checker
from engine.model_registry import model_path
from engine.wheels.config import SweepConfig, sweep_config_from_dict
from engine.wheels.report import distill_summary, point_summary
from store import wheels as store_wheels
from store.errors import UndoError

KIND = "wheels"


def create_sweep(db, store_path: Path, config: SweepConfig) -> int:
    """Record the run and its pending points; nothing is computed yet."""
    dataset = store.get_dataset(db, config.sweep.dataset)
    if not store.load_examples(db, dataset.id, config.sweep.split, limit=1):
        raise UndoError(f"dataset {dataset.name!r} has no {config.sweep.split!r} examples")
    model_path(config.models.teacher)
    model_path(config.models.student)
    if config.models.asker:
        model_path(config.models.asker)
    run_id = store.create_run(db, config.sweep.name, config.model_dump(mode="json"), kind=KIND,
                              dataset_id=dataset.id, teacher=config.models.teacher,
                              student=config.models.student)
    store.update_run(db, run_id, log_path=log_path(store_path, run_id))
    store_wheels.plan_points(db, run_id, config.points(), student=config.models.student)
    return run_id


def drive_sweep(store_path: Path, run_id: int, echo: Echo | None = None,
                tick: Callable[[], None] | None = None) -> store.Run:
    """Compute every pending point of the sweep in this process; returns the final run row.
    `tick` is called after each progress event (a terminal's progress line)."""

    def work(db, run: store.Run, echo: Echo) -> str:
        config = sweep_config_from_dict(run.config, f"run {run_id} config")
        return f"{_compute(db, Path(store_path), run_id, config, echo, tick)} points measured"

    return drive_here(store_path, run_id, KIND, "Training Wheels sweep", work, echo)


def _compute(db, store_path: Path, run_id: int, config: SweepConfig, echo: Echo,
             tick: Callable[[], None] | None) -> int:
    from engine.wheels.models import load_pair
    from engine.wheels.points import PointStopped, run_point
    from engine.wheels.prompts import build_prompts

    run = store.get_run(db, run_id)
    dataset = store.get_dataset(db, run.dataset_id)
    examples = store.load_examples(db, dataset.id, config.sweep.split,
                                   limit=config.sweep.limit or None)
    should_stop = stop_checker(db, run_id)
    student = _student(db, store_path, run_id, config, dataset.id, should_stop, echo, tick)
    models, tokenizer = load_pair(student, model_path(config.models.teacher),
                                  config.models.dtype, config.models.device or None)
    prompts = build_prompts(examples, tokenizer, config, dataset.answer_type)
    points = store_wheels.list_points(db, run_id)
    total = len(points) * len(examples)
    asker = _Asker(config, models, tokenizer)
    for point in points:
        if point.status == "done":
            continue
        if should_stop():
            raise Stopped
        store.update_run(db, run_id, stage=f"wheels ({point.label})")
        echo(f"point {point.position + 1}/{len(points)}: {point.label}")
        offset = point.position * len(examples)
        point_prompts = prompts
        if point.policy == "learned":
            point_prompts = build_prompts(examples, tokenizer, config, dataset.answer_type,
                                          budget=point.budget)
        progress = _progress(db, run_id, point, offset, total, tick)
        try:
            point_models = asker.models() if point.policy == "learned" else models
            metrics, outputs = run_point(point_models, tokenizer, examples, point_prompts, point, config,
                                         dataset.answer_type, should_stop, progress)
        except PointStopped:
            raise Stopped from None
        store_wheels.save_point(db, point.id, metrics, outputs)
        echo(f"  {point_summary(store_wheels.list_points(db, run_id)[point.position])}")
    return len(points)


class _Asker:
    """The learned policy's pair: the sweep's own, or the configured asker with the same teacher
    (loaded when a learned point first needs it)."""

    def __init__(self, config: SweepConfig, models, tokenizer):
        self.config, self.pair, self.tokenizer, self.loaded = config, models, tokenizer, None

    def models(self):
        if not self.config.models.asker:
            return self.pair
        if self.loaded is None:
            from engine.wheels.models import load_pair

            models = self.config.models
            self.loaded, _ = load_pair(model_path(models.asker), model_path(models.teacher),
                                       models.dtype, models.device or None,
                                       teacher=(self.pair.teacher, self.tokenizer))
        return self.loaded


def _student(db, store_path: Path, run_id: int, config: SweepConfig, dataset_id: int,
             should_stop, echo: Echo, tick) -> Path:
    """The student the sweep measures: as configured, or distilled first (and recorded)."""
    base = model_path(config.models.student)
    if not config.distill.enabled:
        store_wheels.set_distill(db, run_id, str(base), {"data": "none"})
        return base
    from engine.student.training import is_complete_checkpoint
    from engine.tracking import training_tracking
    from engine.wheels.distill import ensure_distilled

    out_dir = run_dir(store_path, run_id) / "student"
    recorded_path, recorded = store_wheels.get_distill(db, run_id)
    if recorded_path == str(out_dir) and "steps" in recorded and is_complete_checkpoint(out_dir):
        # resumed after the distillation: its record (steps, loss, time) stays as it was
        echo(f"student distilled earlier on {recorded['data']} ({recorded['steps']} steps): "
             "reused")
        return out_dir
    store.update_run(db, run_id, stage="distill")
    echo(f"distilling the student ({config.distill.training.objective})")

    def progress(p: dict) -> None:
        store.add_event(db, run_id, "progress", stage="distill", done=p.get("step"),
                        total=p.get("total_steps"), data=p)
        if tick is not None:
            tick()

    out, info = ensure_distilled(db, config, dataset_id, out_dir, progress, should_stop,
                                 training_tracking(config.tracking, store_path, run_id,
                                                   "distill"))
    if info.get("stopped"):
        raise Stopped
    store_wheels.set_distill(db, run_id, str(out), info)
    echo(f"student {distill_summary(info)}")
    return out


def _progress(db, run_id: int, point, offset: int, total: int, tick):
    state = {"at": 0.0, "started": time.monotonic()}

    def report(done: int, live: dict) -> None:
        now = time.monotonic()
        if now - state["at"] < 0.5:
            return
        state["at"] = now
        elapsed = now - state["started"]
        eta = (total - offset - done) * elapsed / done if done else None
        store.add_event(db, run_id, "progress", stage="wheels", done=offset + done, total=total,
                        data={"point": point.label, "point_done": done, "eta_s": eta, **live})
        if tick is not None:
            tick()

    return report

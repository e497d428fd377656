"""Experiment tracking: the training curves (transformers' integrations, configured by places.py)
and the engine's own figures (each finished iteration's, a distillation's KL, an ask training's
PCL steps), written by writers.py to TensorBoard and MLflow."""

from __future__ import annotations

from pathlib import Path

import store
from engine.config.tracking import TrackingSection
from engine.tracking.figures import iteration_scalars
from engine.tracking.places import Places, TrainingTracking


def log_step(settings: TrackingSection, store_path: Path, run_id: int, part: str,
             scalars: dict[str, float], step: int) -> None:
    """Log one step of one part of a run (nothing when tracking is off). Each call opens and
    closes its writers, so a resumed run simply adds to what is there."""
    if not settings.backends():
        return
    from engine.tracking.writers import Tracker

    with Tracker(Places.of(settings, store_path, run_id), part) as tracker:
        tracker.log(scalars, step)


def log_iteration(settings: TrackingSection, store_path: Path, iteration: store.Iteration) -> None:
    """One finished iteration's figures, at step k in the run's "loop" part."""
    log_step(settings, store_path, iteration.run_id, "loop", iteration_scalars(iteration),
             iteration.k)


def training_tracking(settings: TrackingSection, store_path: Path, run_id: int,
                      part: str) -> TrainingTracking | None:
    """What train_student needs to report its curves (None when tracking is off)."""
    if not settings.backends():
        return None
    return TrainingTracking(Places.of(settings, store_path, run_id), part)

"""Experiment tracking: the training curves (transformers' integrations, configured by places.py)
and the loop's figures of each finished iteration (logged by the supervisor through writers.py)."""

from __future__ import annotations

from pathlib import Path

import store
from engine.config.tracking import TrackingSection
from engine.tracking.figures import iteration_scalars
from engine.tracking.places import Places


def log_iteration(settings: TrackingSection, store_path: Path, iteration: store.Iteration) -> None:
    """Log one finished iteration's figures at step k (nothing when tracking is off)."""
    if not settings.backends():
        return
    from engine.tracking.writers import Tracker

    with Tracker(Places.of(settings, store_path, iteration.run_id)) as tracker:
        tracker.log(iteration_scalars(iteration), iteration.k)

"""Which [tracking] settings a stored run used, and the lines that tell a person where its curves
are (`undo-tui tracking RUN`). Pure: no tracker is imported."""

from __future__ import annotations

from pathlib import Path

import store
from engine.config.tracking import TrackingSection
from engine.tracking.places import Places, mlflow_ui_command, open_command


def run_tracking(run: store.Run) -> TrackingSection | None:
    """The run's settings: a loop run's [tracking], a distillation's, a sweep's (for its
    distillation) or an ask training's (its sweep file's); None for a generate run."""
    if run.kind in ("undo", "baseline", "transfer"):
        from engine.config import stored_config

        return stored_config(run).tracking
    if run.kind == "distill":
        from engine.distill.config import distill_config_from_dict

        return distill_config_from_dict(run.config, f"run {run.id} config").tracking
    if run.kind == "wheels":
        from engine.wheels.config import sweep_config_from_dict

        return sweep_config_from_dict(run.config, f"run {run.id} config").tracking
    if run.kind == "ask":
        from engine.wheels.ask_run_config import ask_config_from_dict

        return ask_config_from_dict(run.config, f"run {run.id} config").sweep.tracking
    return None


def where_lines(run: store.Run, store_path: Path) -> list[str]:
    settings = run_tracking(run)
    if settings is None:
        return [f"run {run.id} ({run.kind}) logs to no tracker: its figures are in the store"]
    backends = settings.backends()
    if not backends:
        return [f"run {run.id}: tracking is off ([tracking] report_to = \"none\")"]
    places = Places.of(settings, store_path, run.id)
    lines = [f"run {run.id} reports to {', '.join(backends)}"]
    if "tensorboard" in backends:
        parts = sorted(p.name for p in places.run_root.iterdir()) \
            if places.run_root.is_dir() else []
        lines.append(f"TensorBoard: {open_command(places)}  (this run: {places.run_name}/"
                     f"{{{','.join(parts)}}})" if parts else
                     f"TensorBoard: {open_command(places)}  (nothing logged for this run yet)")
    if "mlflow" in backends:
        lines.append(f"MLflow: experiment {settings.experiment!r}, runs {places.run_name} and "
                     f"{places.run_name}/<part>: {mlflow_ui_command(places)}  (the UI needs "
                     "the full package: pip install mlflow)")
    if "wandb" in backends:
        lines.append(f"Weights & Biases: project {settings.experiment!r}, runs "
                     f"{places.run_name}/<part> (WANDB_API_KEY from the environment)")
    if "trackio" in backends:
        lines.append(f"Trackio: TRACKIO_DIR={places.root / 'trackio'} trackio show --project "
                     f"{settings.experiment}")
    return lines

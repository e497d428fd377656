"""Where a run's tracking goes: folders, the MLflow URI, run names, and the packages each needs.

Pure (no tracker is imported), so preflight and the CLI can say where the curves are without
loading TensorBoard or MLflow. Layout under `[tracking] dir` (default: tracking/ beside the store):

    <dir>/run-N/loop            the loop's figures, one point per finished iteration (step = k)
    <dir>/run-N/iteration-K     the training curves of iteration K (transformers' Trainer)
    <dir>/run-N/train, kl       a distillation's training curves and KL measurements
    <dir>/run-N/warm, pcl       an ask training's warm start (Trainer) and PCL steps
    <dir>/run-N/distill         a sweep's distillation of its student
    <dir>/mlruns                the MLflow file store, unless mlflow_uri names another
"""

from __future__ import annotations

import importlib.util
import os
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from engine.config.tracking import TrackingSection
from store.errors import UndoError

# What `import` each tracker needs, and what to pip install to get it.
PACKAGES = {"tensorboard": ("tensorboard", "tensorboard"),
            "mlflow": ("mlflow", "mlflow-skinny"),
            "wandb": ("wandb", "wandb"),
            "trackio": ("trackio", "trackio")}


class TrackingUnavailable(UndoError):
    """A tracker named in [tracking] report_to is not installed."""


def missing_packages(settings: TrackingSection) -> list[str]:
    """One line per tracker in report_to whose package is not importable."""
    lines = []
    for backend in settings.backends():
        module, package = PACKAGES[backend]
        if importlib.util.find_spec(module) is None:
            lines.append(f"tracking.report_to names {backend!r}, but its package is not "
                         f"installed: pip install {package} (or remove {backend!r} from "
                         "tracking.report_to)")
    return lines


def require_packages(settings: TrackingSection) -> None:
    lines = missing_packages(settings)
    if lines:
        raise TrackingUnavailable("\n".join(lines))


@dataclass(frozen=True)
class Places:
    """One run's tracking places: built from the settings, the store's path and the run id."""

    settings: TrackingSection
    root: Path
    run_id: int

    @classmethod
    def of(cls, settings: TrackingSection, store_path: Path, run_id: int) -> Places:
        store_dir = Path(store_path).resolve().parent
        root = Path(settings.dir).expanduser() if settings.dir else Path("tracking")
        return cls(settings, store_dir / root if not root.is_absolute() else root, run_id)

    @property
    def run_name(self) -> str:
        return f"run-{self.run_id}"

    @property
    def mlflow_uri(self) -> str:
        return self.settings.mlflow_uri or (self.root / "mlruns").as_uri()

    @property
    def run_root(self) -> Path:
        return self.root / self.run_name

    def logdir(self, part: str) -> Path:
        """TensorBoard's folder for one part of the run ("loop", "iteration-2", "train")."""
        return self.run_root / part

    def trainer_env(self, part: str) -> dict[str, str]:
        """Environment transformers' integrations read (they take no arguments for these)."""
        env = {"TENSORBOARD_LOGGING_DIR": str(self.logdir(part)),
               "MLFLOW_TRACKING_URI": self.mlflow_uri,
               "MLFLOW_EXPERIMENT_NAME": self.settings.experiment,
               "WANDB_PROJECT": self.settings.experiment,
               "WANDB_DIR": str(self.root),
               "TRACKIO_DIR": str(self.root / "trackio")}
        if self.mlflow_uri.startswith("file:"):
            env["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 keeps it but asks for an opt-in
        return env

    def trainer_args(self, part: str) -> dict:
        """TrainingArguments keys: the trackers, the run's name in them, Trackio's project."""
        return {"report_to": list(self.settings.backends()) or "none",
                "run_name": f"{self.run_name}/{part}", "project": self.settings.experiment}


def open_command(places: Places) -> str:
    """How a person opens the curves (the README and `undo-tui tracking` print it)."""
    return f"tensorboard --logdir {places.root}"


def mlflow_ui_command(places: Places) -> str:
    """MLflow's UI on the run's store (a file store needs MLflow 3's opt-in there too)."""
    opt_in = "MLFLOW_ALLOW_FILE_STORE=true " if places.mlflow_uri.startswith("file:") else ""
    return f"{opt_in}mlflow ui --backend-store-uri {places.mlflow_uri}"


@dataclass(frozen=True)
class TrainingTracking:
    """Where one training's curves go: a run's places and its part ("iteration-2", "train")."""

    places: Places
    part: str

    def trainer_args(self) -> dict:
        return self.places.trainer_args(self.part)

    @contextmanager
    def environment(self):
        """Set the integrations' environment for this training and restore it after (an
        in-process run trains in the CLI's own process)."""
        require_packages(self.places.settings)
        env = self.places.trainer_env(self.part)
        before = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def reporting_args(tracking: TrainingTracking | None) -> dict:
    """TrainingArguments keys for a training with or without tracking."""
    return tracking.trainer_args() if tracking is not None else {"report_to": "none"}


def reporting_environment(tracking: TrainingTracking | None):
    """The integrations' environment around a training (nothing without tracking)."""
    return tracking.environment() if tracking is not None else nullcontext()

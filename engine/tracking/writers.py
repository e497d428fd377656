"""The engine's own writers: scalars at a step, to TensorBoard event files and to MLflow.

TensorBoard's event writer and protos are used directly (not torch's SummaryWriter), so the
supervisor, which never loads torch, pays about 0.3 s once. MLflow's client talks to the file
store or the server the URI names; MLFLOW_TRACKING_TOKEN and the like come from the
environment, read by MLflow itself.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine.tracking.places import Places, require_packages

LOOP_PART = "loop"  # the run's own figures: MLflow names its run after the undo run alone


class TensorBoardWriter:
    def __init__(self, logdir: Path):
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        logdir.mkdir(parents=True, exist_ok=True)
        self.events = EventFileWriter(str(logdir))

    def log(self, scalars: dict[str, float], step: int) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary

        values = [Summary.Value(tag=name, simple_value=value) for name, value in scalars.items()]
        self.events.add_event(Event(wall_time=time.time(), step=step,
                                    summary=Summary(value=values)))

    def close(self) -> None:
        self.events.close()


class MLflowWriter:
    """One MLflow run per undo run (named run-N, found again on resume), metrics at step k."""

    def __init__(self, places: Places, name: str):
        if places.mlflow_uri.startswith("file:"):
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=places.mlflow_uri)
        experiment = self.client.get_experiment_by_name(places.settings.experiment)
        experiment_id = (experiment.experiment_id if experiment is not None
                         else self.client.create_experiment(places.settings.experiment))
        found = self.client.search_runs([experiment_id],
                                        filter_string=f"tags.mlflow.runName = '{name}'",
                                        max_results=1)
        self.run_id = (found[0].info.run_id if found
                       else self.client.create_run(experiment_id, run_name=name).info.run_id)

    def log(self, scalars: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key=name, value=value, timestamp=now, step=step)
                   for name, value in scalars.items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


class Tracker:
    """The engine's writers for the trackers switched on (wandb and trackio get the training
    curves through transformers' integrations only); log(scalars, step) goes to each."""

    def __init__(self, places: Places, part: str = LOOP_PART):
        require_packages(places.settings)
        backends = places.settings.backends()
        self.writers: list = []
        if "tensorboard" in backends:
            self.writers.append(TensorBoardWriter(places.logdir(part)))
        if "mlflow" in backends:
            name = places.run_name if part == LOOP_PART else f"{places.run_name}/{part}"
            self.writers.append(MLflowWriter(places, name))

    def log(self, scalars: dict[str, float], step: int) -> None:
        for writer in self.writers:
            writer.log(scalars, step)

    def close(self) -> None:
        for writer in self.writers:
            writer.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""The [tracking] table: where a run's curves go (TensorBoard, MLflow, Weights & Biases, Trackio).

Only places and names live here: keys (WANDB_API_KEY, MLFLOW_TRACKING_TOKEN, HF_TOKEN) are read
by each tracker from the environment, so nothing secret enters a config or the store.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.config.base import Table

Backend = Literal["tensorboard", "mlflow", "wandb", "trackio"]


class TrackingSection(Table):
    report_to: list[Backend] | Literal["none"] = Field(
        default_factory=lambda: ["tensorboard"],
        description="trackers that receive the training curves and each iteration's figures: "
                    "tensorboard, mlflow, wandb, trackio; [] or \"none\" turns tracking off")
    dir: str = Field("", description="folder of the local tracking files (TensorBoard logs, the "
                                     "MLflow file store); empty: tracking/ beside the store, a "
                                     "relative path is taken from the store's folder")
    mlflow_uri: str = Field("", description="MLflow tracking URI (empty: a local file store in "
                                            "<dir>/mlruns); its token comes from "
                                            "MLFLOW_TRACKING_TOKEN in the environment")
    experiment: str = Field("undo-tui", min_length=1,
                            description="MLflow experiment, W&B and Trackio project name")

    def backends(self) -> tuple[str, ...]:
        """The trackers switched on, in order, each once ("none" and [] give none)."""
        if self.report_to == "none":
            return ()
        return tuple(dict.fromkeys(self.report_to))

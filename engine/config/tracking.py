"""The [tracking] table: where a run's curves go (TensorBoard, MLflow, Weights & Biases, Trackio).

Only places and names live here: keys (WANDB_API_KEY, MLFLOW_TRACKING_TOKEN, HF_TOKEN) are read
by each tracker from the environment, so nothing secret enters a config or the store.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Field, WithJsonSchema, field_validator

from engine.config.base import Table

Backend = Literal["tensorboard", "mlflow", "wandb", "trackio"]
NAMES = {"enum": list(get_args(Backend))}
# What a file may say (the validator below turns it into the list): editors check it too.
ReportTo = Annotated[list[Backend], WithJsonSchema({"anyOf": [
    {"type": "array", "items": NAMES}, NAMES, {"const": "none"}]})]


class TrackingSection(Table):
    report_to: ReportTo = Field(
        default_factory=lambda: ["tensorboard"],
        description="trackers that receive the training curves and each iteration's figures: "
                    "tensorboard, mlflow, wandb, trackio (a list, or one name); [] or \"none\" "
                    "turns tracking off")
    dir: str = Field("", description="folder of the local tracking files (TensorBoard logs, the "
                                     "MLflow file store); empty: tracking/ beside the store, a "
                                     "relative path is taken from the store's folder")
    mlflow_uri: str = Field("", description="MLflow tracking URI (empty: a local file store in "
                                            "<dir>/mlruns); its token comes from "
                                            "MLFLOW_TRACKING_TOKEN in the environment")
    experiment: str = Field("undo-tui", min_length=1,
                            description="MLflow experiment, W&B and Trackio project name")

    @field_validator("report_to", mode="before")
    @classmethod
    def _one_name_or_none(cls, value: Any) -> Any:
        """"none" is an empty list and one name a list of it, as transformers reads them."""
        if value == "none":
            return []
        return [value] if isinstance(value, str) else value

    def backends(self) -> tuple[str, ...]:
        """The trackers switched on, in order, each once."""
        return tuple(dict.fromkeys(self.report_to))

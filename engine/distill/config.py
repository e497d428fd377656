"""A distillation run's configuration (`undo-tui distill CONFIG`): [distill] says what is
distilled into what, on which data, and how it is measured; [training] is the student trainer's
TrainConfig (any objective). Typed like every configuration here (engine.config.base.Table:
unknown keys refused, one-line descriptions, bounds), its errors naming the file and the dotted
key. Importable without torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from engine.config.base import Table
from engine.config.files import read_toml, validated
from engine.config.schema import json_schema
from engine.config.tracking import TrackingSection
from engine.config.training import OneProcessTraining, TrainConfig
from engine.wheels.config import DISTILL_TRAINING, DistillData


class DistillRunSection(DistillData):
    name: str = Field("distill", min_length=1, description="the run's name, shown in the TUI")
    dataset: str = Field(min_length=1, description="the name given to `undo-tui import`")
    student: str = Field(min_length=1, description="the student: a packaged name, a .gguf file "
                                                   "or a Hugging Face model directory")
    teacher: str = Field("smollm2", description="the teacher (same tokenizer): a packaged name "
                                                "(smollm2), a .gguf file or a model directory")
    kl_every_steps: int = Field(0, ge=0, description="also measure KL(teacher||student) on the "
                                                     "held-out split every N optimizer steps "
                                                     "(0: only before and after training)")
    eval_split: Literal["train", "val", "test", "none"] = Field(
        "test", description="the split whose strict accuracy (greedy, float32) is measured at "
                            "the end ('none': not evaluated)")
    eval_limit: int = Field(0, ge=0, description="eval_split: its first N examples (0: all)")
    eval_max_new_tokens: int = Field(256, ge=1, le=8192, description="longest answer generated "
                                                                     "in the evaluation")
    eval_batch_size: int = Field(16, ge=1, le=1024, description="answers generated together")


class DistillRunConfig(Table):
    distill: DistillRunSection = Field(description="the pair, the data and the measurements")
    training: OneProcessTraining = Field(default_factory=lambda: TrainConfig(**DISTILL_TRAINING),
                                  description="how the student is trained: the [training] keys "
                                              "of a run file, any objective")
    tracking: TrackingSection = Field(default_factory=TrackingSection,
                                      description="where the training curves and KL "
                                                  "measurements are logged")

    @model_validator(mode="before")
    @classmethod
    def _teacher_of_the_objective(cls, data: Any) -> Any:
        """A distillation objective learns from [distill] teacher unless training.teacher_model
        names another; a [training] table left out is the sweep's gentle full fine-tuning."""
        if not isinstance(data, dict):
            return data
        distill, training = data.get("distill", {}), data.get("training", DISTILL_TRAINING)
        if not isinstance(distill, dict) or not isinstance(training, dict):
            return data  # a table of the wrong type: its own message says so
        training = dict(training)
        if training.get("objective", "sft") != "sft":
            training.setdefault("teacher_model", distill.get("teacher", "smollm2"))
        return {**data, "training": training}


def load_distill_config(path: str | Path) -> DistillRunConfig:
    """A distillation run's TOML file, parsed and checked."""
    return distill_config_from_dict(read_toml(path), str(path))


def distill_config_from_dict(data: dict, source: str) -> DistillRunConfig:
    """The configuration from its tables; every problem names `source` and the dotted key."""
    return validated(DistillRunConfig, data, source)


def distill_config_schema() -> dict:
    """The JSON Schema of a distillation file (`undo-tui config schema --distill`)."""
    return json_schema(DistillRunConfig, "undo-tui distillation run configuration",
                       "One distillation: `undo-tui distill FILE`. Check a file with "
                       "`undo-tui config check FILE`.")


def is_distill_file(tables: dict) -> bool:
    """A TOML file's tables describe a distillation run: a [distill] table and no [sweep] (a
    sweep's [distill] is its optional fine-tuning step)."""
    return "distill" in tables and "sweep" not in tables

"""An ask-training run's settings (`undo-tui wheels teach-ask`, kind 'ask'), stored as the run's
config JSON and read back typed on resume: the sweep configuration it came from (data, pair,
prompts), the budget levels stated in the prompt, the labelling, the warm start's and the PCL
stage's settings, and how often the stages save resumable state. Importable without torch."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Literal

from pydantic import Field, model_validator

from engine.config.base import Table
from engine.config.files import validated
from engine.wheels.ask_settings import AskPCL, AskTraining
from engine.wheels.config import SweepConfig


class AskSection(Table):
    name: str = Field(min_length=1, description="the run's name, shown in the TUI")
    levels: list[float] = Field(min_length=1, description="budgets stated in the prompt, as "
                                                          "shares of tokens (0-1)")
    labelling: Literal["margin", "disagree"] = Field(
        "margin", description="where deferral labels go: the largest teacher margins, or the "
                              "first disagreements")
    student: str = Field("", description="the student to start from (empty: the sweep's "
                                         "[models] student)")
    out: str = Field("", description="a directory the finished asker is also copied to "
                                     "(empty: only runs/run-N/asker)")
    save_steps: int = Field(10, ge=0, description="a resumable checkpoint every N steps of "
                                                  "either stage (0: only on a stop request)")
    save_interval_s: float = Field(600.0, ge=0, description="and every T seconds (0: off)")

    @model_validator(mode="after")
    def _levels_are_shares(self) -> AskSection:
        if any(not 0 <= level <= 1 for level in self.levels):
            raise ValueError(f"levels must each be between 0 and 1, got {self.levels}")
        return self


class AskRunConfig(Table):
    ask: AskSection = Field(description="the run, its levels and labelling")
    sweep: SweepConfig = Field(description="the sweep configuration it was made from")
    warm: AskTraining = Field(description="the warm start (supervised deferral)")
    pcl: AskPCL = Field(description="the constrained PCL stage (steps = 0: none)")

    @model_validator(mode="before")
    @classmethod
    def _settings_from_tables(cls, data: Any) -> Any:
        """warm and pcl are the engine's own frozen settings (their checks in __post_init__);
        a stored table becomes one, an unknown key named."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key, kind in (("warm", AskTraining), ("pcl", AskPCL)):
            table = data.get(key)
            if isinstance(table, dict):
                unknown = set(table) - {f.name for f in fields(kind)}
                if unknown:
                    raise ValueError(f"{key}: unknown key(s) {sorted(unknown)}")
                data[key] = kind(**table)
        return data

    def to_json(self) -> dict:
        return self.model_dump(mode="json")


def ask_config_from_dict(data: dict, source: str) -> AskRunConfig:
    """The stored settings, typed; every problem names `source`."""
    return validated(AskRunConfig, data, source)

"""The run configuration: one TOML file, parsed once into this object, which travels.

`undo-tui run` parses the file (engine.config.files), the supervisor stores the object as JSON with
the run, and the supervisor and every stage load it back into the same type
(engine.config.stored). Nothing downstream reads the TOML again or checks a value again.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, PrivateAttr, model_validator

from engine.config.base import Table
from engine.config.sections import (DatasetSection, EvaluationSection, LoopSection, PromptsSection,
                                    RunSection, StudentSection)
from engine.config.teacher import LlamaCppTeacherConfig, TeacherConfig
from engine.config.tracking import TrackingSection
from engine.config.training import TrainConfig


class RunConfig(Table):
    run: RunSection = Field(default_factory=RunSection, description="name, seed and kind")
    dataset: DatasetSection = Field(description="the imported dataset, its splits and limits")
    teacher: TeacherConfig = Field(default_factory=LlamaCppTeacherConfig,
                                   description="the model that writes rationales")
    student: StudentSection = Field(default_factory=StudentSection,
                                    description="the model that is fine-tuned")
    training: TrainConfig = Field(default_factory=TrainConfig,
                                  description="how the student is fine-tuned each iteration")
    evaluation: EvaluationSection = Field(default_factory=EvaluationSection,
                                          description="how the student is evaluated")
    prompts: PromptsSection = Field(default_factory=PromptsSection,
                                    description="the teacher's prompt templates")
    loop: LoopSection = Field(default_factory=LoopSection,
                              description="iterations, the stop rule, keep policies, the keep "
                                          "filter")
    tracking: TrackingSection = Field(default_factory=TrackingSection,
                                      description="where training curves and each iteration's "
                                                  "figures are logged")
    _source: str = PrivateAttr("")  # the file (or run) it came from, for messages

    @property
    def source(self) -> str:
        return self._source

    def with_source(self, source: str) -> RunConfig:
        """This config, saying where it came from (messages name it)."""
        self._source = source
        return self

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_other_tables(cls, data: Any) -> Any:
        """[training] seed and system_prompt follow [run] and [student] unless set; a missing
        [dataset] is an empty one, so the message names the key that is missing in it."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        data.setdefault("dataset", {})
        training, run, student = (data.get(name, {}) for name in ("training", "run", "student"))
        if not all(isinstance(table, dict) for table in (training, run, student)):
            return data  # a table of the wrong type: its own message says so
        training = dict(training)
        seed = run.get("seed", 0)
        if isinstance(seed, int) and not isinstance(seed, bool):
            training.setdefault("seed", seed)
        if student.get("system_prompt"):
            training.setdefault("system_prompt", student["system_prompt"])
        data["training"] = training
        return data

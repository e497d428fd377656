"""The sweep configuration (`undo-tui wheels sweep CONFIG`): typed pydantic models, one per TOML
table, in the style of engine.config (unknown keys refused, TOML types taken as they are, a
one-line description and the bounds on every field), parsed once at the edge and stored with
the run as JSON. A bad file gets a message per problem naming the file and the dotted key.
Importable without torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from engine.config.base import Table
from engine.config.files import read_toml, validated
from engine.config.schema import json_schema
from engine.config.tracking import TrackingSection
from engine.config.training import OneProcessTraining, TrainConfig

PolicyName = Literal["student", "teacher", "random", "threshold", "disagree", "learned",
                     "speculative"]
DEFAULT_POLICIES = ["student", "teacher", "random", "threshold", "disagree", "speculative"]
DEFAULT_BUDGETS = [0.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0]
Percent = Annotated[float, Field(ge=0, le=100)]
# [distill.training] when the table is left out: full fine-tuning of a small student, gently.
# Policies that are not asked to hold a budget, at the teacher share they have by definition.
ANCHOR_BUDGETS = {"student": 0.0, "teacher": 100.0, "speculative": 100.0}
DISTILL_TRAINING = {"lora": False, "lr": 5e-5, "epochs": 4, "batch_size": 4, "max_length": 384}


class SweepSection(Table):
    name: str = Field("wheels-sweep", min_length=1, description="the run's name, shown in the TUI")
    dataset: str = Field(min_length=1, description="the name given to `undo-tui import`")
    split: Literal["train", "val", "test"] = Field("test", description="the split evaluated")
    limit: int = Field(0, ge=0, description="the first N examples of the split (0: all)")
    policies: list[PolicyName] = Field(default_factory=lambda: list(DEFAULT_POLICIES),
                                       min_length=1, description="the policies evaluated")
    budgets: list[Percent] = Field(default_factory=lambda: list(DEFAULT_BUDGETS), min_length=1,
                                   description="target shares of teacher-written tokens, percent")
    seed: int = Field(0, description="seed of sampling, the random policy and (unless "
                                     "distill.training.seed is set) distillation")

    @field_validator("policies", "budgets")
    @classmethod
    def _unique(cls, values: list) -> list:
        if len(set(values)) != len(values):
            raise ValueError("each value may appear once")
        return values


class ModelsSection(Table):
    teacher: str = Field("smollm2", description="'smollm2' (the packaged GGUF), a .gguf file or a "
                                                "Hugging Face model directory")
    student: str = Field(min_length=1, description="the student: a .gguf file or a Hugging Face "
                                                   "model directory sharing the teacher's tokenizer")
    asker: str = Field("", description="the learned policy's student, a model with an <ask> "
                                       "token (empty: the student above)")
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = Field(
        "float32", description="compute dtype; float32 keeps batched output exact")
    device: str = Field("", description="cpu, cuda, ... (empty: cuda when available, else cpu)")


class PromptsSection(Table):
    teacher: str = Field("initial", description="the teacher's prompt: a template name or "
                                                "'question'")
    student: str = Field("question", description="the student's prompt: 'question' or a "
                                                 "template name")
    dir: str = Field("", description="a directory of template files overriding the packaged "
                                     "ones (empty: the packaged templates)")
    system: str = Field("", description="system message of the student's 'question' prompt "
                                        "(empty: none); distill.training.system_prompt follows it")
    budget_sentence: str = Field(
        "You may ask the teacher for at most {percent}% of the tokens.",
        description="told to a `learned` student in its prompt; {percent} is the budget")


class DecodingSection(Table):
    max_new_tokens: int = Field(256, ge=1, le=8192, description="longest output, in tokens")
    batch_size: int = Field(16, ge=1, le=1024, description="sequences decoded together")
    do_sample: bool = Field(False, description="sample instead of decoding greedily")
    temperature: float = Field(1.0, gt=0, le=10, description="sampling temperature")


class BudgetSection(Table):
    cap: Literal["share", "point", "count", "none"] = Field(
        "share", description="hard cap: the budget's share of each sequence at every length, "
                             "of the whole point's tokens at every step, a count per "
                             "sequence, or none")
    cap_count: int = Field(0, ge=0, description="teacher tokens per sequence when cap = 'count'")
    horizon: float = Field(128.0, gt=0, description="tokens over which the controller repays "
                                                    "a deficit")
    window: int = Field(1024, ge=16, description="recent scores the controller's quantile uses")

    @model_validator(mode="after")
    def _count_needs_value(self):
        if self.cap == "count" and self.cap_count < 1:
            raise ValueError("cap = 'count' needs cap_count >= 1")
        return self


class ThresholdSection(Table):
    signal: Literal["entropy", "confidence"] = Field(
        "entropy", description="the student's signal: its entropy, or 1 - its top probability")


class LearnedSection(Table):
    min_probability: float | None = Field(
        None, gt=0, lt=1, description="ask when p(<ask>) exceeds this (unset: when it is the "
                                      "argmax)")


class SpeculativeSection(Table):
    draft_tokens: int = Field(0, ge=0, le=64, description="draft length (0: transformers' "
                                                          "default schedule)")


class QualitySection(Table):
    metric: Literal["auto", "accuracy", "chrf", "rougeL"] = Field(
        "auto", description="auto: strict accuracy, or chrF for free text (answer type text)")


class DistillData(Table):
    """Which data a distillation trains on and where its KL to the teacher is measured (shared by
    a sweep's [distill] and a distillation run's [distill])."""

    data: Literal["auto", "kept", "gold", "kept+gold"] = Field(
        "auto", description="training data: the teacher's kept rationales, the gold worked "
                            "solutions, or both; auto adds gold when too few were kept")
    from_run: str = Field("", description="the run (name or id) whose kept rationales are used "
                                          "(empty: the newest with any on this dataset)")
    split: Literal["train", "val", "test"] = Field("train", description="the split trained on")
    min_kept: int = Field(100, ge=0, description="auto: below this many kept rationales, gold "
                                                 "is added")
    held_out: Literal["train", "val", "test", "none"] = Field(
        "val", description="the split whose gold solutions measure KL(teacher||student) before "
                           "and after distilling ('none': not measured)")
    held_out_limit: int = Field(50, ge=1, description="held_out: its first N examples")


class DistillSection(DistillData):
    enabled: bool = Field(False, description="fine-tune the student before measuring (by "
                                             "training.objective: SFT unless set)")
    training: OneProcessTraining = Field(default_factory=lambda: TrainConfig(**DISTILL_TRAINING),
                                  description="how the student is fine-tuned (the [training] "
                                              "keys of a run file)")


class SweepConfig(Table):
    sweep: SweepSection = Field(description="the dataset split, the policies and the budgets")
    models: ModelsSection = Field(description="the teacher and the student (same tokenizer)")
    prompts: PromptsSection = Field(default_factory=PromptsSection,
                                    description="what each model is shown")
    decoding: DecodingSection = Field(default_factory=DecodingSection,
                                      description="output length, batching and sampling")
    budget: BudgetSection = Field(default_factory=BudgetSection,
                                  description="the hard cap and the online controller")
    threshold: ThresholdSection = Field(default_factory=ThresholdSection,
                                        description="the signal of the threshold policy")
    learned: LearnedSection = Field(default_factory=LearnedSection,
                                    description="when a student with an <ask> token asks")
    speculative: SpeculativeSection = Field(default_factory=SpeculativeSection,
                                            description="the speculative-decoding baseline")
    quality: QualitySection = Field(default_factory=QualitySection,
                                    description="how outputs are scored")
    distill: DistillSection = Field(default_factory=DistillSection,
                                    description="fine-tuning the student before measuring")
    tracking: TrackingSection = Field(default_factory=TrackingSection,
                                      description="where the sweep's distillation and an ask "
                                                  "training made from this file log their "
                                                  "curves")

    @model_validator(mode="before")
    @classmethod
    def _training_defaults(cls, data: Any) -> Any:
        """[distill.training] seed and system_prompt follow [sweep] and [prompts] unless set, as
        a run file's [training] follows [run] and [student]; a distillation objective's
        teacher_model is the sweep's own teacher unless set."""
        if not isinstance(data, dict) or not isinstance(data.get("distill", {}), dict):
            return data  # a table of the wrong type: its own message says so
        sweep, prompts = data.get("sweep", {}), data.get("prompts", {})
        distill = dict(data.get("distill", {}))
        training = distill.get("training", DISTILL_TRAINING)
        if not all(isinstance(table, dict) for table in (sweep, prompts, training)):
            return data
        training = dict(training)
        seed = sweep.get("seed", 0)
        if isinstance(seed, int) and not isinstance(seed, bool):
            training.setdefault("seed", seed)
        if prompts.get("system"):
            training.setdefault("system_prompt", prompts["system"])
        models = data.get("models", {})
        if training.get("objective", "sft") != "sft" and isinstance(models, dict):
            training.setdefault("teacher_model", models.get("teacher", "smollm2"))
        return {**data, "distill": {**distill, "training": training}}

    def points(self) -> list[tuple[str, float]]:
        """(policy, budget %) in the order they run: student and teacher alone first, then every
        budget for the asking policies, so a partial sweep already spans the plot; speculative
        decoding last, as it decodes one sequence at a time."""
        anchors = ANCHOR_BUDGETS
        out = [(p, anchors[p]) for p in ("student", "teacher") if p in self.sweep.policies]
        asking = [p for p in self.sweep.policies if p not in anchors]
        for budget in sorted(self.sweep.budgets):
            if 0 < budget < 100:
                out += [(policy, budget) for policy in asking]
            elif budget == 0 and "learned" in asking:
                # a student that asks, told it has no budget: its own accuracy, the anchor its
                # learned points are compared with (its training also made it a new student)
                out.append(("learned", 0.0))
        if "speculative" in self.sweep.policies:
            out.append(("speculative", 100.0))
        return out


def load_sweep_config(path: str | Path) -> SweepConfig:
    """A sweep's TOML file, parsed and checked."""
    return sweep_config_from_dict(read_toml(path), str(path))


def sweep_config_from_dict(data: dict, source: str) -> SweepConfig:
    """A sweep configuration from its tables; every problem names `source` and the dotted key."""
    return validated(SweepConfig, data, source)


def sweep_config_schema() -> dict:
    """The JSON Schema of a sweep file (`undo-tui config schema --sweep`)."""
    return json_schema(SweepConfig, "undo-tui Training Wheels sweep configuration",
                       "One sweep: `undo-tui wheels sweep FILE`. Check a file with "
                       "`undo-tui config check FILE`.")


def is_sweep_file(tables: dict) -> bool:
    """A TOML file's tables describe a sweep (a [sweep] table) rather than a run."""
    return "sweep" in tables

"""The sweep configuration (`undo-tui wheels sweep CONFIG`): typed pydantic models, one per TOML
table, parsed once at the edge and stored with the run as JSON.

Every field has a one-line doc and its bounds; unknown keys are refused. A bad file gets one
message naming the file and the dotted key. Importable without torch (the TUI reads it).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.errors import ConfigError

PolicyName = Literal["student", "teacher", "random", "threshold", "disagree", "learned",
                     "speculative"]
DEFAULT_POLICIES = ["student", "teacher", "random", "threshold", "disagree", "speculative"]
DEFAULT_BUDGETS = [0.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0]
Percent = Annotated[float, Field(ge=0, le=100)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class SweepSection(Section):
    name: str = Field("wheels-sweep", min_length=1, description="Run name shown in the TUI.")
    dataset: str = Field(min_length=1, description="Name given to `undo-tui import`.")
    split: Literal["train", "val", "test"] = Field("test", description="Split evaluated.")
    limit: int = Field(0, ge=0, description="First N examples of the split (0: all).")
    policies: list[PolicyName] = Field(default_factory=lambda: list(DEFAULT_POLICIES),
                                       min_length=1, description="Policies to evaluate.")
    budgets: list[Percent] = Field(default_factory=lambda: list(DEFAULT_BUDGETS), min_length=1,
                                   description="Target shares of teacher-written tokens, percent.")
    seed: int = Field(0, description="Seed for sampling and the random policy.")

    @field_validator("policies", "budgets")
    @classmethod
    def _unique(cls, values: list) -> list:
        if len(set(values)) != len(values):
            raise ValueError("each value may appear once")
        return values


class ModelsSection(Section):
    teacher: str = Field("smollm2", description="'smollm2' (the packaged GGUF), a GGUF or a HF dir.")
    student: str = Field(min_length=1, description="Student model: a GGUF or a HF directory.")
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = Field(
        "float32", description="Compute dtype; float32 keeps batched output exact.")
    device: str = Field("", description="'cpu', 'cuda', or empty for the best available.")


class PromptsSection(Section):
    teacher: str = Field("initial", description="Teacher prompt: a template name or 'question'.")
    student: str = Field("question", description="Student prompt: 'question' or a template name.")
    dir: str = Field("", description="Directory of template files overriding the packaged ones.")
    system: str = Field("", description="System prompt for the student's 'question' prompt.")
    budget_sentence: str = Field(
        "You may ask the teacher for at most {percent}% of the tokens.",
        description="Told to a `learned` student in its prompt; {percent} is the budget.")


class DecodingSection(Section):
    max_new_tokens: int = Field(256, ge=1, le=8192, description="Longest output, in tokens.")
    batch_size: int = Field(16, ge=1, le=1024, description="Sequences decoded together.")
    do_sample: bool = Field(False, description="Sample instead of greedy decoding.")
    temperature: float = Field(1.0, gt=0, le=10, description="Sampling temperature.")


class BudgetSection(Section):
    cap: Literal["share", "count", "none"] = Field(
        "share", description="Hard cap per sequence: the budget's share at every length, a "
                             "count, or none.")
    cap_count: int = Field(0, ge=0, description="Teacher tokens per sequence when cap = 'count'.")
    horizon: float = Field(128.0, gt=0, description="Tokens over which the controller repays "
                                                    "a deficit.")
    window: int = Field(1024, ge=16, description="Recent scores the controller's quantile uses.")

    @model_validator(mode="after")
    def _count_needs_value(self):
        if self.cap == "count" and self.cap_count < 1:
            raise ValueError("cap = 'count' needs cap_count >= 1")
        return self


class ThresholdSection(Section):
    signal: Literal["entropy", "confidence"] = Field(
        "entropy", description="Student signal: entropy, or 1 - its top probability.")


class LearnedSection(Section):
    min_probability: float | None = Field(
        None, gt=0, lt=1, description="Ask when p(<ask>) exceeds this; unset: when it is argmax.")


class SpeculativeSection(Section):
    draft_tokens: int = Field(0, ge=0, le=64, description="Draft length (0: transformers' "
                                                          "default schedule).")


class QualitySection(Section):
    metric: Literal["auto", "accuracy", "chrf", "rougeL"] = Field(
        "auto", description="auto: strict accuracy, or chrF for free-text (answer type text).")


class DistillSection(Section):
    enabled: bool = Field(False, description="Fine-tune the student (SFT) before measuring.")
    data: Literal["auto", "kept", "gold", "kept+gold"] = Field(
        "auto", description="Training data: the teacher's kept rationales, the gold worked "
                            "solutions, or both; auto adds gold when too few were kept.")
    from_run: str = Field("", description="Run (name or id) whose kept rationales to use; "
                                          "empty: the newest with any on this dataset.")
    split: Literal["train", "val", "test"] = Field("train", description="Split trained on.")
    min_kept: int = Field(100, ge=0, description="auto: below this many kept rationales, add gold.")
    training: dict[str, Any] = Field(
        default_factory=lambda: {"lora": False, "lr": 5e-5, "epochs": 4, "batch_size": 4,
                                 "max_length": 384},
        description="Settings for the trainer (the [training] keys of a run config).")


class SweepConfig(Section):
    sweep: SweepSection
    models: ModelsSection
    prompts: PromptsSection = Field(default_factory=PromptsSection)
    decoding: DecodingSection = Field(default_factory=DecodingSection)
    budget: BudgetSection = Field(default_factory=BudgetSection)
    threshold: ThresholdSection = Field(default_factory=ThresholdSection)
    learned: LearnedSection = Field(default_factory=LearnedSection)
    speculative: SpeculativeSection = Field(default_factory=SpeculativeSection)
    quality: QualitySection = Field(default_factory=QualitySection)
    distill: DistillSection = Field(default_factory=DistillSection)

    def points(self) -> list[tuple[str, float]]:
        """(policy, budget %) in the order they run: student and teacher alone first, then every
        budget for the asking policies, so a partial sweep already spans the plot; speculative
        decoding last, as it decodes one sequence at a time."""
        anchors = {"student": 0.0, "teacher": 100.0, "speculative": 100.0}
        out = [(p, anchors[p]) for p in ("student", "teacher") if p in self.sweep.policies]
        asking = [p for p in self.sweep.policies if p not in anchors]
        for budget in sorted(self.sweep.budgets):
            if 0 < budget < 100:
                out += [(policy, budget) for policy in asking]
        if "speculative" in self.sweep.policies:
            out.append(("speculative", 100.0))
        return out


def load_sweep_config(path: str | Path) -> SweepConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return sweep_config_from_dict(data, str(path))


def sweep_config_from_dict(data: dict, source: str) -> SweepConfig:
    try:
        config = SweepConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, source)) from None
    _check_training(config, source)
    return config


def describe(exc: ValidationError, source: str) -> str:
    """The first problem as `file: section.key: what is wrong` (+ how many more)."""
    errors = exc.errors()
    first = errors[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "required"
    else:
        message = first["msg"].removeprefix("Value error, ")
        if "input" in first and first["type"] != "model_type":
            message += f" (got {first['input']!r})"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{source}: {key}: {message}{more}"


def _check_training(config: SweepConfig, source: str) -> None:
    from engine.student.config import TrainConfig

    try:
        TrainConfig.from_dict(dict(config.distill.training))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: distill.training: {exc}") from None

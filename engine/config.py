"""Run configuration: one TOML file, validated with messages that name the bad key.

Sections: [run] [dataset] [teacher] [student] [training] [evaluation] [prompts] [loop].
Every knob of the UNDO loop has a default from the brief; `sample_runs/configs/` has commented
examples. The parsed config is stored with the run (as JSON), so a resumed run never re-reads the file.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from engine.errors import ConfigError


@dataclass
class RunSection:
    name: str = "undo-run"
    seed: int = 0
    kind: Literal["undo", "baseline", "transfer"] = "undo"


@dataclass
class DatasetSection:
    name: str = ""
    train_split: str = "train"
    val_split: str = "val"
    test_split: str = ""  # empty: no test evaluation
    train_limit: int = 0  # 0: all
    val_limit: int = 0
    test_limit: int = 0


@dataclass
class StudentSection:
    model: str = "smollm2"  # "smollm2" (the packaged GGUF), a .gguf path, or a HF model directory
    system_prompt: str = ""


@dataclass
class EvaluationSection:
    max_new_tokens: int = 384
    batch_size: int = 16
    evaluate_base: bool = True  # iteration 0: the untrained student, for reference
    evaluate_train: bool = True  # the refinement step needs the student's train answers
    # "auto" = bf16 where supported (1.6x faster on CPU); bf16 rounding depends on batch shape, so
    # use "float32" when batched answers must match one-at-a-time ones token for token.
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"


@dataclass
class PromptsSection:
    dir: str = ""  # a directory of template files overriding the packaged ones
    initial: str = "initial"
    refine_variant: Literal["full", "answer_only", "hinted"] = "answer_only"


@dataclass
class LoopSection:
    max_iterations: int = 4
    # "significant": a new iteration beats the best only if its strict validation accuracy is
    # higher with an exact McNemar p < alpha on the same examples; "delta": higher by `delta` points.
    stop_rule: Literal["significant", "delta"] = "significant"
    alpha: float = 0.05  # significance level of the "significant" stop rule
    delta: float = 0.5  # accuracy points (percent) a new iteration must beat the best by ("delta")
    regenerate: Literal["all", "wrong"] = "all"
    keep: Literal["correct", "all", "retry", "hinted"] = "correct"
    retries: int = 1
    train_set: Literal["replace", "accumulate"] = "replace"
    init: Literal["base", "continue"] = "base"
    val_errors_shown: int = 3
    val_error_selection: Literal["similar", "category", "random"] = "similar"
    # The keep filter (engine/generation/keep_filter.py): a correct rationale is also rejected
    # when it fails one of these rules. Applies under keep = correct/retry/hinted, not "all".
    reject_no_derivation: bool = True  # only restates the answer, no working before it
    reject_hint_before_derivation: bool = True  # hinted: states the given answer before working
    reject_talks_about_student: bool = True  # "the student", "which is incorrect", ...
    reject_copies_student: bool = True  # repeats the student's output the prompt showed
    reject_copies_previous: bool = True  # repeats its own previous version

    def keep_rules(self) -> frozenset[str]:
        """The keep-filter rules switched on (codes of engine.generation.keep_filter.RULES)."""
        return frozenset(name.removeprefix("reject_") for name, on in vars(self).items()
                         if name.startswith("reject_") and on)


@dataclass
class RunConfig:
    run: RunSection = field(default_factory=RunSection)
    dataset: DatasetSection = field(default_factory=DatasetSection)
    teacher: dict = field(default_factory=dict)  # validated by engine.teachers' TeacherConfig
    student: StudentSection = field(default_factory=StudentSection)
    training: dict = field(default_factory=dict)  # validated by engine.student's TrainConfig
    evaluation: EvaluationSection = field(default_factory=EvaluationSection)
    prompts: PromptsSection = field(default_factory=PromptsSection)
    loop: LoopSection = field(default_factory=LoopSection)
    source: str = ""  # the file it came from, for messages

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


SECTIONS = {
    "run": RunSection, "dataset": DatasetSection, "student": StudentSection,
    "evaluation": EvaluationSection, "prompts": PromptsSection, "loop": LoopSection,
}
FREE_SECTIONS = ("teacher", "training")


def load_config(path: str | Path) -> RunConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return config_from_dict(data, source=str(path))


def config_from_dict(data: dict, source: str = "<config>") -> RunConfig:
    """Build and validate a RunConfig; every problem names `source` and the dotted key."""
    unknown = sorted(set(data) - set(SECTIONS) - set(FREE_SECTIONS) - {"source"})
    if unknown:
        allowed = ", ".join(sorted([*SECTIONS, *FREE_SECTIONS]))
        raise ConfigError(f"{source}: unknown section [{unknown[0]}]; allowed sections: {allowed}")
    values: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        values[name] = build_section(cls, table, f"{source}: {name}")
    for name in FREE_SECTIONS:
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        values[name] = dict(table)
    config = RunConfig(**values, source=source)
    _check_semantics(config, source)
    validate_components(config)
    return config


def build_section(cls: type, table: dict, where: str):
    """Instantiate a dataclass from a TOML table, checking key names, types and allowed values."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in table.items():
        if key not in hints:
            raise ConfigError(f"{where}.{key}: unknown key; allowed keys: {', '.join(names)}")
        kwargs[key] = check_value(hints[key], value, f"{where}.{key}")
    return cls(**kwargs)


def check_value(hint: Any, value: Any, where: str) -> Any:
    origin = get_origin(hint)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise ConfigError(f"{where}: {value!r} is not allowed; choose one of "
                              f"{', '.join(repr(a) for a in allowed)}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return type(value)(value) if origin is list else tuple(value)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        options = [a for a in get_args(hint) if a is not type(None)]
        if value is None and len(options) < len(get_args(hint)):
            return None
        for option in options:
            try:
                return check_value(option, value, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} has the wrong type")
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def _check_semantics(config: RunConfig, source: str) -> None:
    if not config.dataset.name:
        raise ConfigError(f"{source}: dataset.name is required (the name given to `undo-tui import`)")
    if config.loop.max_iterations < 1:
        raise ConfigError(f"{source}: loop.max_iterations must be >= 1, got {config.loop.max_iterations}")
    if config.loop.delta < 0:
        raise ConfigError(f"{source}: loop.delta must be >= 0 (accuracy points), got {config.loop.delta}")
    if not 0 < config.loop.alpha < 1:
        raise ConfigError(f"{source}: loop.alpha must be between 0 and 1, got {config.loop.alpha}")
    if config.loop.retries < 0:
        raise ConfigError(f"{source}: loop.retries must be >= 0, got {config.loop.retries}")
    if config.evaluation.max_new_tokens < 1 or config.evaluation.batch_size < 1:
        raise ConfigError(f"{source}: evaluation.max_new_tokens and evaluation.batch_size must be >= 1")
    for key in ("train_limit", "val_limit", "test_limit"):
        if getattr(config.dataset, key) < 0:
            raise ConfigError(f"{source}: dataset.{key} must be >= 0 (0 means all)")


def validate_components(config: RunConfig) -> None:
    """Validate [teacher] and [training] with the classes that consume them."""
    teacher_config(config)
    train_config(config)


def teacher_config(config: RunConfig):
    from engine.teachers import TeacherConfig  # the teacher layer owns its knobs

    return TeacherConfig.from_dict(config.teacher, where=f"{config.source}: teacher")


def train_config(config: RunConfig):
    from engine.student.config import TrainConfig  # torch-free

    table = dict(config.training)
    table.setdefault("seed", config.run.seed)
    if config.student.system_prompt:
        table.setdefault("system_prompt", config.student.system_prompt)
    section = f"{config.source}: training"
    hints = typing.get_type_hints(TrainConfig)
    for key, value in table.items():
        if key not in hints:
            raise ConfigError(f"{section}.{key}: unknown key; allowed keys: {', '.join(hints)}")
        table[key] = check_value(hints[key], value, f"{section}.{key}")
    try:
        return TrainConfig(**table)
    except ValueError as exc:
        raise ConfigError(f"{section}: {exc}") from None

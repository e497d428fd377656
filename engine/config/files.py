"""Parsing at the edge: a TOML file (or a dict built from one) into the typed configuration.

Every problem is a ConfigError naming the file and the dotted key (engine.config.messages).
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from pydantic import BaseModel, TypeAdapter, ValidationError

from engine.config.messages import config_error
from engine.config.run import RunConfig
from engine.config.teacher import TeacherConfig
from engine.errors import ConfigError


def read_toml(path: str | Path) -> dict:
    """A TOML file's tables; a missing or broken file is a ConfigError naming it."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def load_config(path: str | Path) -> RunConfig:
    """A run's TOML file, parsed and checked."""
    return config_from_dict(read_toml(path), source=str(path))


def config_from_dict(data: dict, source: str = "<config>") -> RunConfig:
    """A run configuration from its tables; every problem names `source` and the dotted key."""
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, source, RunConfig) from None
    return config.with_source(source)


def validated(model: type[BaseModel], data: dict, source: str):
    """`model` from a file's tables; every problem names `source` and the dotted key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, source, model) from None


@cache
def _teacher_adapter() -> TypeAdapter:
    return TypeAdapter(TeacherConfig)


def teacher_from_dict(data: dict, source: str = "<teacher>") -> TeacherConfig:
    """A [teacher] table alone (`undo-tui generate --teacher`); keys are named teacher.KEY."""
    try:
        return _teacher_adapter().validate_python(data)
    except ValidationError as exc:
        raise config_error(exc, source, TeacherConfig, prefix=("teacher",)) from None

"""A run's configuration as stored with it (JSON in runs.config_json), loaded back into RunConfig.

Stored configs are what RunConfig.model_dump(mode="json") wrote, or what earlier versions wrote:
the whole file's tables with a top-level "source", a [teacher] table holding keys of both
backends (every key the old flat settings had) and [training] as written. `upgrade` turns those
into today's shape; a key only the other backend reads never had an effect, so dropping it
changes nothing the run does.
"""

from __future__ import annotations

import copy

import store
from engine.config.files import config_from_dict
from engine.config.run import RunConfig
from engine.config.teacher import LlamaCppTeacherConfig, OpenAITeacherConfig

_TEACHER_KEYS = {"llamacpp": set(LlamaCppTeacherConfig.model_fields),
                 "openai": set(OpenAITeacherConfig.model_fields)}


def upgrade(data: dict) -> dict:
    """A stored config in today's shape (a copy; today's own configs come back unchanged)."""
    data = copy.deepcopy(data)
    data.pop("source", None)
    teacher = data.get("teacher")
    if isinstance(teacher, dict):
        backend = teacher.setdefault("backend", "llamacpp")
        known = _TEACHER_KEYS.get(backend)
        if known is not None:
            data["teacher"] = {k: v for k, v in teacher.items() if k in known}
    return data


def stored_config(run: store.Run) -> RunConfig:
    """The run's configuration, as it was parsed when the run was recorded."""
    return config_from_dict(upgrade(run.config), source=f"run {run.id} config")

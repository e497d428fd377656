"""Teachers: one interface (`Teacher.complete`); local llama.cpp and OpenAI-compatible backends.

Backends are imported only when built, so importing this package loads neither llama.cpp nor httpx.
"""

from __future__ import annotations

from pathlib import Path

from engine.config.teacher import TeacherConfig
from engine.teachers.base import Completion, Teacher, TeacherCallFailed, TeacherUnusable
from engine.teachers.identity import api_model_id, gguf_model_id


def make_teacher(config: TeacherConfig, log_path: str | Path | None = None) -> Teacher:
    """The backend `config.backend` names, ready to call (a GGUF is loaded here)."""
    if config.backend == "llamacpp":
        from engine.teachers.llamacpp import LlamaCppTeacher

        return LlamaCppTeacher(config, log_path=log_path)
    from engine.teachers.openai_api import OpenAITeacher

    return OpenAITeacher(config, log_path=log_path)


def model_id_for(config: TeacherConfig) -> str:
    """The cache identity `make_teacher(config).model_id` will have, without loading anything."""
    if config.backend == "llamacpp":
        return gguf_model_id(config.model_path())
    return api_model_id(config.base_url, config.model)


__all__ = ["Completion", "Teacher", "TeacherCallFailed", "TeacherUnusable", "make_teacher",
           "model_id_for"]

"""[evaluation] keys of a student served over an OpenAI-compatible API (backend = "openai").

The student's prompts go to a server instead of a model loaded in the stage: vLLM with the
iteration's LoRA adapter registered as a model name (`vllm serve BASE --enable-lora
--lora-modules student-1=runs/run-N/iter-1/student`, model = "student-{iteration}"), or
llama.cpp's server with the merged GGUF of `undo-tui export-model` (`python -m
llama_cpp.server --model DIR/NAME-f16.gguf`). The requests reuse the teacher's client, its
retries and its concurrency (an OpenAITeacherConfig built by `server_config`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from engine.config.base import Table
from engine.config.teacher import OpenAITeacherConfig

_TEACHER_KEYS = OpenAITeacherConfig.model_fields

SERVER_KEYS = ("base_url", "model", "api_key_env", "concurrency", "timeout_s", "max_retries",
               "retry_backoff_s", "retry_backoff_max_s")
# llama.cpp's server penalises repeats (1.1) unless a request says otherwise; vLLM ignores the
# field. Greedy as the in-process evaluation means no penalty.
GREEDY_EXTRA = {"repeat_penalty": 1.0}


class EvalServerKeys(Table):
    backend: Literal["local", "openai"] = Field(
        "local", description="local: the stage loads the student (transformers); openai: an "
                             "OpenAI-compatible server answers greedily (vLLM with the adapter, "
                             "llama.cpp server with the merged GGUF)")
    base_url: str = Field("", description="openai: the server's endpoint, e.g. "
                                          "http://127.0.0.1:8000/v1")
    model: str = Field("", description="openai: the model name the server knows; {iteration} "
                                       "is replaced by k (vLLM: one adapter name per iteration)")
    request_extra: dict[str, float | int | str | bool] = Field(
        default_factory=lambda: dict(GREEDY_EXTRA),
        description="openai: extra JSON fields of every request (default repeat_penalty = 1.0: "
                    "llama.cpp's server otherwise penalises repeats, unlike the in-process "
                    "greedy decoding)")
    # the teacher's own keys, bounds and descriptions: one definition for both clients
    api_key_env: str | None = _TEACHER_KEYS["api_key_env"]
    concurrency: int = _TEACHER_KEYS["concurrency"]
    timeout_s: float = _TEACHER_KEYS["timeout_s"]
    max_retries: int = _TEACHER_KEYS["max_retries"]
    retry_backoff_s: float = _TEACHER_KEYS["retry_backoff_s"]
    retry_backoff_max_s: float = _TEACHER_KEYS["retry_backoff_max_s"]

    @model_validator(mode="after")
    def _server_keys(self):
        if self.backend == "local":
            # a stored config holds every key at its default: only a changed one is an error
            fields = type(self).model_fields
            set_keys = [key for key in SERVER_KEYS if getattr(self, key) != fields[key].default]
            set_keys += ["request_extra"] if self.request_extra != GREEDY_EXTRA else []
            if set_keys:
                raise ValueError(f"{', '.join(set_keys)}: read only with backend = \"openai\"")
            return self
        if not self.base_url or not self.model:
            raise ValueError("backend = \"openai\" needs base_url and model")
        self.server_config(0)  # the teacher's checks of base_url and api_key_env
        return self

    def server_config(self, iteration: int, max_tokens: int = 1):
        """The teacher's client settings for iteration k: greedy, no system prompt of its own."""
        values = {key: getattr(self, key) for key in SERVER_KEYS}
        values["model"] = self.model.replace("{iteration}", str(iteration))
        return OpenAITeacherConfig(backend="openai", temperature=0.0, top_p=1.0,
                                   max_tokens=max_tokens, seed=None, system_prompt=None,
                                   **values)

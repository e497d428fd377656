"""[teacher]: one table per backend, told apart by `backend` (llamacpp when it is left out).

A key that only the other backend reads (`timeout_s` for llama.cpp, `n_ctx` for an API) is
refused rather than ignored. Importable without llama.cpp or httpx.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import Discriminator, Field, Tag, field_validator

from engine.config.base import Table

DEFAULT_SYSTEM_PROMPT = (
    "You are a careful teacher. Solve the problem step by step, showing every calculation, "
    "then give the final answer on its own last line as 'Answer: <value>'."
)


class TeacherBase(Table):
    """The settings both backends read: the model, sampling, and what a call costs."""

    backend: str = Field(description="llamacpp: a GGUF run in-process; openai: any "
                                     "OpenAI-compatible server (vLLM, llama.cpp server, Ollama, "
                                     "a hosted API)")
    model: str = Field("smollm2", min_length=1, description="llamacpp: 'smollm2' (the packaged "
                                                            "GGUF) or a .gguf path; openai: the "
                                                            "model name the server knows")
    temperature: float = Field(0.0, ge=0, le=5, description="sampling temperature (0: greedy)")
    top_p: float = Field(1.0, gt=0, le=1, description="nucleus sampling mass")
    max_tokens: int = Field(512, ge=1, description="longest rationale, in tokens (a longer one is "
                                                   "stored as truncated, never kept)")
    seed: int | None = Field(0, description="sampling seed (part of every cache key)")
    system_prompt: str | None = Field(DEFAULT_SYSTEM_PROMPT,
                                      description="system message of every teacher prompt")
    price_prompt_per_1k: float | None = Field(None, ge=0, description="cost of 1,000 prompt "
                                                                      "tokens (unset: not priced)")
    price_completion_per_1k: float | None = Field(None, ge=0, description="cost of 1,000 "
                                                                          "completion tokens")

    def sampling_params(self) -> dict:
        """The parameters that shape a response: part of every cache key."""
        return {"temperature": self.temperature, "top_p": self.top_p,
                "max_tokens": self.max_tokens, "seed": self.seed}


class LlamaCppTeacherConfig(TeacherBase):
    backend: Literal["llamacpp"] = "llamacpp"
    n_ctx: int = Field(2048, ge=1, description="context length in tokens (prompt + rationale)")
    n_gpu_layers: int = Field(0, ge=-1, description="layers offloaded to the GPU (-1: all; needs "
                                                    "a CUDA build of llama-cpp-python)")
    n_threads: int | None = Field(None, ge=1, description="CPU threads (unset: half the usable "
                                                          "cores)")
    concurrency: int = Field(1, ge=1, le=256, description="sequences decoded together in one "
                                                          "context, each with n_ctx tokens of KV "
                                                          "cache; same outputs as 1 (faster where "
                                                          "decoding is memory-bound, e.g. a GPU)")

    def model_path(self) -> Path:
        """The GGUF file this teacher loads (a packaged alias resolved)."""
        from engine.model_registry import gguf_path

        return gguf_path(self.model)


class OpenAITeacherConfig(TeacherBase):
    backend: Literal["openai"]
    base_url: str = Field(description="the server's endpoint, e.g. http://127.0.0.1:8000/v1")
    api_key_env: str | None = Field(None, description="NAME of the environment variable that "
                                                      "holds the API key (never the key)")
    concurrency: int = Field(8, ge=1, description="requests in flight")
    timeout_s: float = Field(120.0, gt=0, allow_inf_nan=False,
                             description="seconds one request may take")
    max_retries: int = Field(4, ge=0, description="retries of a failed request (timeouts, 429, "
                                                  "5xx)")
    retry_backoff_s: float = Field(1.0, ge=0, description="first wait before a retry; doubles "
                                                          "per retry, with jitter")
    retry_backoff_max_s: float = Field(60.0, ge=0, description="longest wait, also for an "
                                                               "honoured Retry-After")

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _variable_name(cls, value: str | None) -> str | None:
        if value is not None and not value.replace("_", "").isalnum():
            raise ValueError("must be the NAME of an environment variable (letters, digits, _), "
                             "not the key itself")
        return value


def _backend(value: Any) -> str | None:
    """The table's backend; a table without one is a llamacpp teacher (the default)."""
    if isinstance(value, dict):
        return value.get("backend", "llamacpp")
    return getattr(value, "backend", None)


TeacherConfig = Annotated[
    Annotated[LlamaCppTeacherConfig, Tag("llamacpp")] | Annotated[OpenAITeacherConfig,
                                                                  Tag("openai")],
    Discriminator(_backend),
]
BACKENDS = tuple(get_args(model.model_fields["backend"].annotation)[0]
                 for model in (LlamaCppTeacherConfig, OpenAITeacherConfig))

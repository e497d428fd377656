"""Teacher settings: plain data from a `[teacher]` TOML table, validated with actionable messages.

Importable without llama.cpp or httpx, so the UI and the run-config code can read it cheaply.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from store.errors import UndoError

BACKENDS = ("llamacpp", "openai")
DEFAULT_SYSTEM_PROMPT = (
    "You are a careful teacher. Solve the problem step by step, showing every calculation, "
    "then give the final answer on its own last line as 'Answer: <value>'."
)


class TeacherConfigError(UndoError):
    """A teacher setting is missing, unknown or out of range; the message names it."""


@dataclass
class TeacherConfig:
    backend: str = "llamacpp"
    model: str = "smollm2"  # GGUF path or packaged alias (llamacpp); model name (openai)
    base_url: str | None = None  # openai: e.g. http://127.0.0.1:8000/v1
    api_key_env: str | None = None  # NAME of the environment variable holding the key
    n_ctx: int = 2048
    n_gpu_layers: int = 0
    n_threads: int | None = None  # None: half the usable cores (see llamacpp.default_threads)
    concurrency: int = 8  # requests in flight (llamacpp always runs one at a time)
    timeout_s: float = 120.0
    max_retries: int = 4
    retry_backoff_s: float = 1.0  # first backoff; doubles per retry, with jitter
    retry_backoff_max_s: float = 60.0  # also caps an honoured Retry-After
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    seed: int | None = 0
    price_prompt_per_1k: float | None = None
    price_completion_per_1k: float | None = None
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT

    def __post_init__(self) -> None:
        self._check()

    @classmethod
    def from_dict(cls, data: dict, where: str = "[teacher]") -> TeacherConfig:
        """Build from a TOML table; an unknown key or a wrong type is an error naming the key."""
        if not isinstance(data, dict):
            raise TeacherConfigError(f"{where}: expected a table of teacher settings")
        allowed = [f.name for f in fields(cls)]
        for key in data:
            if key not in allowed:
                raise TeacherConfigError(
                    f"{where}: unknown key {key!r}; allowed keys: {', '.join(allowed)}")
        for key, value in data.items():
            _check_type(where, key, value)
        try:
            return cls(**data)
        except TeacherConfigError as exc:
            raise TeacherConfigError(f"{where}: {exc}") from None

    def to_dict(self) -> dict:
        """Plain values for the run's config (holds the key's variable name, never the key)."""
        return asdict(self)

    def sampling_params(self) -> dict:
        """The parameters that shape a response: part of every cache key."""
        return {"temperature": self.temperature, "top_p": self.top_p,
                "max_tokens": self.max_tokens, "seed": self.seed}

    def model_path(self) -> Path:
        """The GGUF file a llamacpp teacher loads (packaged aliases resolved)."""
        from engine.model_registry import gguf_path

        return gguf_path(self.model)

    def _check(self) -> None:
        if self.backend not in BACKENDS:
            raise TeacherConfigError(f"backend: {self.backend!r} is not one of "
                                     f"{', '.join(BACKENDS)}")
        if not self.model:
            raise TeacherConfigError("model: must name a GGUF file, a packaged model or an API "
                                     "model")
        if self.backend == "openai" and not self.base_url:
            raise TeacherConfigError("base_url: required for the openai backend "
                                     "(e.g. http://127.0.0.1:8000/v1)")
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            raise TeacherConfigError(f"base_url: {self.base_url!r} must start with http:// or "
                                     f"https://")
        for name in ("n_ctx", "concurrency", "max_tokens"):
            if getattr(self, name) < 1:
                raise TeacherConfigError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.max_retries < 0:
            raise TeacherConfigError(f"max_retries: must be >= 0, got {self.max_retries}")
        if self.n_gpu_layers < -1:
            raise TeacherConfigError(f"n_gpu_layers: must be >= 0, or -1 for all layers, "
                                     f"got {self.n_gpu_layers}")
        if self.n_threads is not None and self.n_threads < 1:
            raise TeacherConfigError(f"n_threads: must be >= 1, got {self.n_threads}")
        if not (self.timeout_s > 0 and math.isfinite(self.timeout_s)):
            raise TeacherConfigError(f"timeout_s: must be a positive number, got {self.timeout_s}")
        if self.retry_backoff_s < 0 or self.retry_backoff_max_s < 0:
            raise TeacherConfigError("retry_backoff_s and retry_backoff_max_s: must be >= 0")
        if not 0 <= self.temperature <= 5:
            raise TeacherConfigError(f"temperature: must be in [0, 5], got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise TeacherConfigError(f"top_p: must be in (0, 1], got {self.top_p}")
        for name in ("price_prompt_per_1k", "price_completion_per_1k"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise TeacherConfigError(f"{name}: must be >= 0, got {value}")
        if self.api_key_env is not None and not self.api_key_env.replace("_", "").isalnum():
            raise TeacherConfigError(
                f"api_key_env: must be the NAME of an environment variable (letters, digits, _), "
                f"not the key itself")


_TYPES = {f.name: f.type for f in fields(TeacherConfig)}


def _check_type(where: str, key: str, value) -> None:
    """TOML gives ints, floats, strings and booleans; reject the wrong kind with the key named."""
    kind = _TYPES[key]
    if value is None:
        if "None" not in kind:
            raise TeacherConfigError(f"{where}: {key} must not be empty")
        return
    if "float" in kind:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        expected = "a number"
    elif "int" in kind:
        ok = isinstance(value, int) and not isinstance(value, bool)
        expected = "an integer"
    else:
        ok = isinstance(value, str)
        expected = "a string"
    if not ok:
        raise TeacherConfigError(f"{where}: {key} must be {expected}, got {value!r}")

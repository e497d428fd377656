"""The one teacher interface every backend implements, and what a call returns or raises."""

from __future__ import annotations

import abc
from dataclasses import dataclass

from engine.config.teacher import TeacherConfig
from store.errors import UndoError

Message = dict  # {"role": "system" | "user" | "assistant", "content": str}


@dataclass(frozen=True)
class Completion:
    """One response: its text, why generation ended, and what it cost."""

    text: str
    finish_reason: str | None  # "stop", "length" (truncated), ...
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float
    attempts: int = 1  # HTTP attempts it took (retries + 1)

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


class TeacherCallFailed(Exception):
    """A call that failed after its retries; `reason` is stored on the failed rationale row."""

    def __init__(self, reason: str, attempts: int = 1):
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


class TeacherUnusable(UndoError):
    """The teacher cannot serve any call (bad key, unknown model, wrong URL): stop the pass."""


class Teacher(abc.ABC):
    """A chat model that answers one message list at a time; the pass runs `concurrency` at once."""

    config: TeacherConfig
    model_id: str  # cache identity: "gguf:<sha256>" or "openai:<base_url>:<model>"
    cancellable: bool = True  # whether a call in flight can be abandoned (an HTTP request can)
    concurrency: int = 1  # calls the pass keeps in flight

    @abc.abstractmethod
    async def complete(self, messages: list[Message], params: dict) -> Completion:
        """Generate one response. Raises TeacherCallFailed, or TeacherUnusable for fatal errors."""

    async def end_session(self) -> None:
        """Release resources tied to the running event loop (an HTTP client's connections)."""

    def close(self) -> None:
        """Free the model or connections for good."""

    def cost(self, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
        """Price of one call from the configured per-1k prices; None when no price is set."""
        c = self.config
        if c.price_prompt_per_1k is None and c.price_completion_per_1k is None:
            return None
        return ((prompt_tokens or 0) * (c.price_prompt_per_1k or 0.0)
                + (completion_tokens or 0) * (c.price_completion_per_1k or 0.0)) / 1000.0

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""One sequence's generated tokens and the rule that ends it.

The rule is llama-cpp-python's `_create_completion`, token by token: an end-of-generation token
stops (not included); otherwise the token is kept and the text so far is detokenized; while that
text ends inside a multi-byte UTF-8 character nothing else is checked; a stop string cuts the
text before it; reaching max_tokens ends with "length". Keeping the same rule keeps the same
texts, finish reasons and token counts as one-at-a-time decoding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from engine.teachers.llamacpp_chat import SequenceRequest


@dataclass(frozen=True)
class SequenceOutput:
    text: str
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int
    completion_tokens: int


def token_budget(request: SequenceRequest, n_ctx: int) -> int:
    """max_tokens cut to what the context has left after the prompt (as llama-cpp-python does)."""
    room = n_ctx - len(request.prompt)
    wanted = request.max_tokens
    if wanted is None or wanted <= 0:
        return room
    return wanted if wanted + len(request.prompt) < n_ctx else room


@dataclass
class SequenceState:
    request: SequenceRequest
    budget: int
    is_end: Callable[[int], bool]  # an end-of-generation token
    detokenize: Callable[[list[int]], bytes]
    tokens: list[int] = field(default_factory=list)
    output: SequenceOutput | None = None
    _multibyte_left: int = 0

    def accept(self, token: int) -> bool:
        """Take one sampled token; True when the sequence has ended (see `output`)."""
        if self.is_end(token):
            return self._finish(self.detokenize(self.tokens), "stop")
        self.tokens.append(token)
        text = self.detokenize(self.tokens)
        missing = _incomplete_utf8(text)
        if missing is not None:
            self._multibyte_left = missing
        if self._multibyte_left > 0:
            self._multibyte_left -= 1
            return False
        cut = _first_stop(text, self.request.stops)
        if cut is not None:
            return self._finish(text[:cut], "stop")
        if len(self.tokens) >= self.budget:
            return self._finish(text, "length")
        return False

    def _finish(self, text: bytes, reason: str) -> bool:
        self.output = SequenceOutput(text.decode("utf-8", errors="ignore"), reason,
                                     len(self.request.prompt), len(self.tokens))
        return True


def _incomplete_utf8(text: bytes) -> int | None:
    """Tokens to wait for a UTF-8 character begun near the end (llama-cpp-python's exact check);
    None when no lead byte is there."""
    missing = None
    for position, char in enumerate(text[-3:]):
        left = 3 - position
        for size, pattern in ((2, 192), (3, 224), (4, 240)):
            if size > left and pattern & char == pattern:
                missing = size - left
    return missing


def _first_stop(text: bytes, stops: tuple[bytes, ...]) -> int | None:
    """Where the first listed stop string that occurs begins, or None."""
    for stop in stops:
        if stop in text:
            return text.index(stop)
    return None

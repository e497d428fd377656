"""A chat request turned into what the batched decoder reads: prompt tokens, stops, sampling.

The prompt is built exactly as llama-cpp-python's `create_chat_completion` builds it for a GGUF
with a chat template (the template rendered by its Jinja2 formatter, tokenized with special
tokens, a BOS only when the template added none), and the sampling follows its defaults
(top_k 40, typical 1.0, min_p 0.05), so a request decodes the same text here as it would there.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# llama-cpp-python's create_chat_completion defaults, which the teacher always used
TOP_K = 40
TYPICAL_P = 1.0
MIN_P = 0.05
# llama.cpp's LLAMA_DEFAULT_SEED: a request without a seed samples from a fixed one
DEFAULT_SEED = 0xFFFFFFFF


class NoChatTemplate(ValueError):
    """The GGUF carries no chat template to format a conversation with."""


@dataclass(frozen=True)
class SequenceRequest:
    """One sequence to decode: its prompt tokens and how it is sampled and ended."""

    prompt: tuple[int, ...]
    max_tokens: int | None  # None or <= 0: up to the context's end
    temperature: float
    top_p: float
    seed: int
    stops: tuple[bytes, ...]


class ChatPrompt:
    """Formats messages with the GGUF's own chat template, as llama-cpp-python does."""

    def __init__(self, llm):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise NoChatTemplate("the GGUF has no tokenizer.chat_template; use a chat model")
        eos, bos = llm.token_eos(), llm.token_bos()
        self._llm = llm
        self._formatter = Jinja2ChatFormatter(
            template=template, stop_token_ids=[eos], eos_token=_token_text(llm, eos),
            bos_token=_token_text(llm, bos))

    def request(self, messages: list[dict], params: dict) -> SequenceRequest:
        formatted = self._formatter(messages=messages)
        tokens = self._llm.tokenize(formatted.prompt.encode("utf-8"),
                                    add_bos=not formatted.added_special, special=True)
        stops = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop]
        return SequenceRequest(
            prompt=tuple(tokens), max_tokens=params.get("max_tokens"),
            temperature=params.get("temperature", 0.0), top_p=params.get("top_p", 1.0),
            seed=request_seed(params.get("seed")),
            stops=tuple(s.encode("utf-8") for s in stops if s))


def _token_text(llm, token: int) -> str:
    import llama_cpp

    if token == -1:
        return ""
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    return llama_cpp.llama_vocab_get_text(vocab, token).decode("utf-8")


def request_seed(seed: int | None) -> int:
    """The request's own seed, else one fixed seed: the same request always samples the same."""
    if seed is not None:
        return seed
    return random.Random(DEFAULT_SEED).randint(0, 2**32)

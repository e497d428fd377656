"""A local GGUF teacher run in-process by llama-cpp-python, with the GGUF's own chat template.

The model is loaded once; `concurrency` calls decode together in one llama.cpp context
(`llamacpp_batch.py`, driven by one thread in `llamacpp_scheduler.py`), each a sequence of its
own, so greedy and seeded outputs are those of one-at-a-time decoding. A new call reuses the KV
cache of the longest prompt prefix already cached; every template puts the fixed system prompt
and one-shot example first, so that prefix is most of the prompt. Measured here on SmolLM2:
6 GSM8K questions 37.6 s with a reset before each call, 29.4 s with the prefix kept, identical text.

llama.cpp writes to file descriptor 2 even with verbose=False, so model loading and generation run
with fd 2 pointed at the run's log file. Never construct this inside the TUI process.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from engine.config.teacher import LlamaCppTeacherConfig
from engine.teachers.base import (
    Completion,
    Message,
    Teacher,
    TeacherCallFailed,
    TeacherUnusable,
)
from engine.teachers.identity import gguf_model_id
from engine.teachers.llamacpp_batch import BatchDecoder, SequenceFailed
from engine.teachers.llamacpp_chat import ChatPrompt, NoChatTemplate
from engine.teachers.llamacpp_scheduler import DecoderStopped, DecodeScheduler
from engine.teachers.stderr_redirect import stderr_to

MAX_BATCH = 512  # prompt tokens per llama_decode, llama-cpp-python's default n_batch


class LlamaCppTeacher(Teacher):
    cancellable = False  # a sequence being decoded runs to its end

    def __init__(self, config: LlamaCppTeacherConfig, log_path: str | Path | None = None):
        self.config = config
        self.concurrency = config.concurrency
        self.log_path = log_path
        self.path = config.model_path()
        self.model_id = gguf_model_id(self.path)
        self._llm = self._load()
        try:
            self._chat = ChatPrompt(self._llm)
        except NoChatTemplate as exc:
            self.close_model()
            raise TeacherUnusable(f"{self.path}: {exc}") from exc
        try:
            with stderr_to(log_path):
                decoder = BatchDecoder(self._llm, n_seq=config.concurrency, n_ctx=config.n_ctx,
                                       n_batch=min(config.n_ctx, MAX_BATCH))
        except RuntimeError as exc:  # no memory for concurrency x n_ctx tokens of KV cache
            self.close_model()
            raise TeacherUnusable(f"{exc}; lower teacher.concurrency or teacher.n_ctx") from exc
        self._scheduler = DecodeScheduler(decoder, log_path)

    def _load(self):
        from llama_cpp import Llama

        c = self.config
        threads = c.n_threads or default_threads()
        # the decoder makes its own context; the Llama's own serves bare calls (benchmarks)
        with stderr_to(self.log_path):
            return Llama(model_path=str(self.path), n_ctx=c.n_ctx,
                         n_gpu_layers=c.n_gpu_layers, n_threads=threads,
                         n_threads_batch=threads, verbose=False)

    async def complete(self, messages: list[Message], params: dict) -> Completion:
        start = time.perf_counter()
        future = self._submit(messages, params)
        try:
            outcome = await asyncio.wrap_future(future)
        except (SequenceFailed, DecoderStopped) as exc:
            raise TeacherCallFailed(str(exc)) from exc
        return self._completion(outcome, start)

    def complete_sync(self, messages: list[Message], params: dict) -> Completion:
        """One chat completion, waited for in this thread."""
        start = time.perf_counter()
        try:
            outcome = self._submit(messages, params).result()
        except (SequenceFailed, DecoderStopped) as exc:
            raise TeacherCallFailed(str(exc)) from exc
        return self._completion(outcome, start)

    def _submit(self, messages: list[Message], params: dict):
        if self._llm is None:
            raise TeacherCallFailed("the llama.cpp teacher was closed")
        try:
            request = self._chat.request(messages, params)
        except Exception as exc:  # a template that refuses these messages
            raise TeacherCallFailed(f"chat template: {type(exc).__name__}: {exc}") from exc
        return self._scheduler.submit(request)

    @staticmethod
    def _completion(outcome, start: float) -> Completion:
        return Completion(text=outcome.text, finish_reason=outcome.finish_reason,
                          prompt_tokens=outcome.prompt_tokens,
                          completion_tokens=outcome.completion_tokens,
                          latency_s=time.perf_counter() - start)

    def decode_steps(self) -> tuple[int, int]:
        """(decode steps so far, sequences they decoded): how much decoding was shared."""
        decoder = self._scheduler.decoder
        return decoder.steps, decoder.stepped

    def close(self) -> None:
        if self._llm is not None:
            self._scheduler.close()
            self.close_model()

    def close_model(self) -> None:
        with stderr_to(self.log_path):
            self._llm.close()
        self._llm = None


def default_threads() -> int:
    """Half the usable cores (physical cores on most machines), as llama-cpp-python does.

    llama.cpp's threads meet at a barrier per layer; a descheduled thread stalls the rest. On
    this 2-core machine with other work running, 1 thread gave 48-57 tokens/s and 2 threads
    2.5-9.6 tokens/s (SmolLM2, same process, alternated).
    """
    return max(1, usable_cores() // 2)


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)

"""One thread that owns the batched decoder and serves calls from any thread (continuous batching).

A call is queued with a future; between decode steps the thread starts queued calls in free
slots, then decodes one token for every running sequence and answers those that ended. A call
that ends is answered at once, so the teacher pass stores it (and sends its next call, which
joins the running batch) while the others go on: a kill loses only sequences still decoding.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future
from pathlib import Path

from engine.teachers.llamacpp_batch import BatchDecoder, SequenceFailed
from engine.teachers.llamacpp_chat import SequenceRequest
from engine.teachers.stderr_redirect import stderr_to

log = logging.getLogger(__name__)


class DecoderStopped(Exception):
    """The decoder thread is closed, or stopped on an unexpected error (named in the message)."""


class DecodeScheduler:
    def __init__(self, decoder: BatchDecoder, log_path: str | Path | None):
        self.decoder = decoder
        self._log_path = log_path
        self._queue: deque[tuple[SequenceRequest, Future]] = deque()
        self._wake = threading.Condition()
        self._stopped: str | None = None
        self._thread = threading.Thread(target=self._serve, name="llamacpp-decoder", daemon=True)
        self._thread.start()

    def submit(self, request: SequenceRequest) -> Future:
        """A future of the sequence's SequenceOutput (or SequenceFailed / DecoderStopped)."""
        future: Future = Future()
        with self._wake:
            if self._stopped is not None:
                future.set_exception(DecoderStopped(self._stopped))
                return future
            self._queue.append((request, future))
            self._wake.notify()
        return future

    def close(self) -> None:
        """Stop the thread (calls still queued or decoding fail) and free the context."""
        with self._wake:
            if self._stopped is None:
                self._stopped = "the llama.cpp teacher was closed"
            self._wake.notify()
        self._thread.join()

    def _serve(self) -> None:
        try:
            while self._admit():
                with stderr_to(self._log_path):
                    self._answer(self.decoder.step())
        except Exception as exc:  # a bug: fail every call, never hang the pass
            log.exception("llama.cpp decoder stopped")
            with self._wake:
                self._stopped = f"llama.cpp decoder stopped: {type(exc).__name__}: {exc}"
        finally:
            self._fail_all()
            with stderr_to(self._log_path):
                self.decoder.close()

    def _admit(self) -> bool:
        """Start queued calls in free slots (waiting for one when nothing runs); False: stop."""
        while True:
            with self._wake:
                while not self._queue and not self.decoder.running() and self._stopped is None:
                    self._wake.wait()
                if self._stopped is not None:
                    return False
                if not self._queue or not self.decoder.free_slots():
                    return True
                request, future = self._queue.popleft()
            if future.set_running_or_notify_cancel():
                self._start(request, future)

    def _start(self, request: SequenceRequest, future: Future) -> None:
        try:
            with stderr_to(self._log_path):
                output = self.decoder.start(request, future)
        except SequenceFailed as exc:
            future.set_exception(exc)
            return
        except Exception as exc:  # a bug: this call fails too, then every other one (_serve)
            future.set_exception(DecoderStopped(f"{type(exc).__name__}: {exc}"))
            raise
        if output is not None:
            future.set_result(output)

    @staticmethod
    def _answer(ended) -> None:
        for future, outcome in ended:
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    def _fail_all(self) -> None:
        with self._wake:
            queued = [future for _, future in self._queue]
            self._queue.clear()
            reason = self._stopped or "the llama.cpp teacher was closed"
        for future in [*queued, *self.decoder.handles()]:
            if not future.done():  # not cancelled, not answered
                future.set_exception(DecoderStopped(reason))

"""Several sequences decoded together in one llama.cpp context (llama-cpp-python's low-level API).

Each sequence has its own slot: a llama.cpp sequence id whose KV cells live in a stream of their
own (`kv_unified = False`), so a sequence's attention reads exactly the cells it would read alone
and its logits do not depend on what else is decoding. A new sequence takes over the KV cache of
the slot whose tokens share the longest prefix with its prompt (the few-shot system prompt and
example, most of every prompt): that slot's stream is copied (`llama_memory_seq_cp`) and cut at
the shared length, and only the rest of the prompt is evaluated. Prompts are evaluated one
sequence at a time in chunks of n_batch tokens, as llama-cpp-python's `Llama.eval` does; each
step then decodes one token for every running sequence in one `llama_decode` call and samples
each from its own row of logits with its own sampler chain.

Not thread-safe: one thread owns a decoder (the teacher's scheduler).
"""

from __future__ import annotations

import ctypes
import itertools
from collections.abc import Callable

from engine.teachers.llamacpp_chat import MIN_P, TOP_K, TYPICAL_P, SequenceRequest
from engine.teachers.llamacpp_sequence import SequenceState, token_budget

CTX_STEP = 256  # llama.cpp's padding of a sequence's context
# A prompt's last token evaluated alone gives other logits than inside a batch of 2 or more
# (llama.cpp's CPU kernels for one row differ: measured here up to 0.75 on SmolLM2's logits;
# batches of 2, 3, 5 or the whole prompt agree bitwise). llama-cpp-python replays that one token
# when a prompt comes again whole, so its output then depends on what ran before; evaluating at
# least two keeps a request's output the same whatever the cache holds.
MIN_EVALUATED = 2


class SequenceFailed(Exception):
    """One sequence could not be decoded (its prompt does not fit, llama.cpp refused a batch)."""


class BatchDecoder:
    """Up to `n_seq` sequences at once, each with `n_ctx` tokens of context."""

    def __init__(self, llm, n_seq: int, n_ctx: int, n_batch: int):
        import llama_cpp

        self._lib = llama_cpp
        self.n_seq, self.n_batch = n_seq, n_batch
        params = type(llm.context_params).from_buffer_copy(llm.context_params)
        # llama.cpp rounds each sequence's context up to a multiple of 256 (and warns when the
        # whole is not divisible): ask for that much; a sequence still keeps to `n_ctx`
        per_sequence = -(-n_ctx // CTX_STEP) * CTX_STEP
        params.n_ctx, params.n_seq_max, params.kv_unified = per_sequence * n_seq, n_seq, False
        params.n_batch = params.n_ubatch = n_batch
        self._ctx = llama_cpp.llama_init_from_model(llm.model, params)
        if self._ctx is None:
            raise RuntimeError(f"llama.cpp could not make a context of {n_seq} x {n_ctx} tokens")
        self.n_ctx = min(n_ctx, llama_cpp.llama_n_ctx_seq(self._ctx))
        self._memory = llama_cpp.llama_get_memory(self._ctx)
        self._batch = llama_cpp.llama_batch_init(max(n_batch, n_seq), 0, 1)
        self._vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self._detokenize = lambda tokens: llm.detokenize(tokens)
        self._cached: list[list[int]] = [[] for _ in range(n_seq)]  # tokens in each slot's KV
        self._running: dict[int, _Running] = {}
        self.steps = 0  # decode steps taken, and the sequences they decoded together
        self.stepped = 0

    # --- the scheduler's view -------------------------------------------------------------

    def free_slots(self) -> int:
        return self.n_seq - len(self._running)

    def running(self) -> int:
        return len(self._running)

    def handles(self) -> list[object]:
        """The handles of the sequences still decoding."""
        return [running.handle for running in self._running.values()]

    def start(self, request: SequenceRequest, handle: object) -> object | None:
        """Evaluate a prompt in a free slot and sample its first token.

        Returns the state's output when the sequence already ended (else None: it runs on in
        `step`); raises SequenceFailed for this sequence alone.
        """
        if len(request.prompt) >= self.n_ctx:
            raise SequenceFailed(f"prompt of {len(request.prompt)} tokens does not fit "
                                 f"n_ctx={self.n_ctx}; raise teacher.n_ctx")
        free = [s for s in range(self.n_seq) if s not in self._running]
        slot = max(free, key=lambda s: _common_prefix(self._cached[s], request.prompt))
        self._take_prefix(slot, request.prompt)
        cached = len(self._cached[slot])
        try:
            for begin, end in _chunks(cached, len(request.prompt), self.n_batch):
                chunk = request.prompt[begin:end]
                self._decode([(slot, token, begin + i) for i, token in enumerate(chunk)],
                             last_only=True)
                self._cached[slot].extend(chunk)
        except SequenceFailed:
            self._forget(slot)
            raise
        running = _Running(handle, self._state(request), _sampler(self._lib, request))
        if running.accept(self._ctx, -1):
            return running.state.output
        self._running[slot] = running
        return None

    def step(self) -> list[tuple[object, object]]:
        """One token for every running sequence; returns (handle, output) of those that ended.

        A refused batch fails every sequence in it (each one's handle gets the error).
        """
        slots = sorted(self._running)
        entries = [(s, self._running[s].state.tokens[-1], len(self._cached[s])) for s in slots]
        self.steps, self.stepped = self.steps + 1, self.stepped + len(entries)
        try:
            self._decode(entries, last_only=False)
        except SequenceFailed as exc:
            failed = [self._running.pop(slot) for slot in slots]
            for slot, running in zip(slots, failed):
                self._forget(slot)
                running.free()
            return [(running.handle, exc) for running in failed]
        ended = []
        for row, (slot, token, _) in enumerate(entries):
            self._cached[slot].append(token)
            running = self._running[slot]
            if running.accept(self._ctx, row):
                del self._running[slot]
                ended.append((running.handle, running.state.output))
        return ended

    def close(self) -> None:
        for running in self._running.values():
            running.free()
        self._running.clear()
        if self._ctx is not None:
            self._lib.llama_batch_free(self._batch)
            self._lib.llama_free(self._ctx)
            self._ctx = None

    # --- KV cache ---------------------------------------------------------------------------

    def _take_prefix(self, slot: int, prompt: tuple[int, ...]) -> None:
        """Leave in `slot` the longest cached prefix of `prompt`, short of its last two tokens."""
        source, shared = slot, 0
        for candidate in range(self.n_seq):
            length = _common_prefix(self._cached[candidate], prompt)
            if length > shared or (length == shared and candidate == slot):
                source, shared = candidate, length
        shared = min(shared, max(0, len(prompt) - MIN_EVALUATED))
        lib = self._lib
        if source != slot and shared > 0:
            lib.llama_memory_seq_rm(self._memory, slot, -1, -1)
            lib.llama_memory_seq_cp(self._memory, source, slot, -1, -1)
        lib.llama_memory_seq_rm(self._memory, slot, shared, -1)
        self._cached[slot] = list(prompt[:shared])

    def _forget(self, slot: int) -> None:
        self._lib.llama_memory_seq_rm(self._memory, slot, -1, -1)
        self._cached[slot] = []

    def _decode(self, entries: list[tuple[int, int, int]], last_only: bool) -> None:
        """One llama_decode of (slot, token, position) entries; logits for the last or all."""
        batch = self._batch
        batch.n_tokens = len(entries)
        for i, (slot, token, position) in enumerate(entries):
            batch.token[i], batch.pos[i] = token, position
            batch.n_seq_id[i], batch.seq_id[i][0] = 1, slot
            batch.logits[i] = not last_only or i == len(entries) - 1
        code = self._lib.llama_decode(self._ctx, batch)
        if code != 0:
            raise SequenceFailed(f"llama.cpp could not decode a batch of {len(entries)} tokens "
                                 f"(llama_decode returned {code})")

    def _state(self, request: SequenceRequest) -> SequenceState:
        return SequenceState(request, token_budget(request, self.n_ctx),
                             is_end=lambda t: self._lib.llama_vocab_is_eog(self._vocab, t),
                             detokenize=self._detokenize)


class _Running:
    """A sequence being decoded: whom to answer, its state and its own sampler chain."""

    def __init__(self, handle: object, state: SequenceState, sampler):
        self.handle, self.state, self.sampler = handle, state, sampler

    def accept(self, ctx, row: int) -> bool:
        lib, chain = self.sampler
        ended = self.state.accept(lib.llama_sampler_sample(chain, ctx, row))
        if ended:
            self.free()
        return ended

    def free(self) -> None:
        lib, chain = self.sampler
        if chain is not None:
            lib.llama_sampler_free(chain)
            self.sampler = (lib, None)


def _sampler(lib, request: SequenceRequest):
    """llama-cpp-python's chain for these settings: greedy at temperature 0, else top-k,
    typical, top-p, min-p, temperature and a draw seeded by the request."""
    chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
    links: list[Callable[[], object]]
    if request.temperature == 0.0:
        links = [lib.llama_sampler_init_greedy]
    else:
        links = [lambda: lib.llama_sampler_init_top_k(TOP_K),
                 lambda: lib.llama_sampler_init_typical(TYPICAL_P, 1),
                 lambda: lib.llama_sampler_init_top_p(request.top_p, 1),
                 lambda: lib.llama_sampler_init_min_p(MIN_P, 1),
                 lambda: lib.llama_sampler_init_temp(request.temperature),
                 lambda: lib.llama_sampler_init_dist(ctypes.c_uint32(request.seed).value)]
    for link in links:
        lib.llama_sampler_chain_add(chain, link())
    return lib, chain


def _chunks(begin: int, end: int, size: int) -> list[tuple[int, int]]:
    """[begin, end) in pieces of at most `size`, the last one never a lone token (MIN_EVALUATED)
    unless the whole is one token.

    A prompt longer than one chunk is still not bitwise the same when cut elsewhere (measured:
    chunks of 4-40 tokens changed the first logits of 2 of 5 prompts); at n_batch = 512 the
    part after a cached prefix is one chunk for prompts like the teacher's.
    """
    bounds = list(range(begin, end, size)) + [end]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < MIN_EVALUATED:
        bounds[-2] = bounds[-1] - MIN_EVALUATED
    return list(itertools.pairwise(bounds))


def _common_prefix(a, b) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n

"""Greedy evaluation split across the ranks of a launcher, with the answers of one process.

Every rank plans the same batches as `generate_in_batches` (per part, fixed by the prompts
alone) and the whole batches are dealt out in turn: in round r rank i decodes batch r*W + i.
So each answer comes from exactly the batch shape one process would decode it in, and under
bf16, where an answer depends on its batch's shape, the texts and metrics are the same. After
each round rank 0 gathers the round's outputs (gather_object over gloo: the outputs are small
text, and nothing needs a shared filesystem, so a rank on another node works the same) and
hands them to `on_batch` in batch order; it then decides whether a stop request ends the
evaluation and tells every rank. A stop waits for the round in flight (one batch per rank).
"""

from __future__ import annotations

from typing import Callable, Sequence

from engine.student import ranks
from engine.student.generation import (GenerationOutput, GenerationStopped, StopRequested,
                                       decode_batch, greedy_config, plan_batches)
from engine.student.prompting import Question, prompt_token_ids

OnBatch = Callable[[int, list[int], list[GenerationOutput]], None]


def generate_sharded(model, tokenizer, parts: Sequence[tuple[Sequence[Question], set[int]]],
                     max_new_tokens: int, batch_size: int, on_batch: OnBatch | None = None,
                     should_stop: Callable[[], bool] | None = None,
                     system: str | None = None) -> None:
    """Decode every part's (prompts, done) on all ranks; rank 0's `on_batch(part, indices,
    outputs)` gets each batch. Raises GenerationStopped on every rank when rank 0 stops."""
    work = []  # (part, encoded prompts of the batch, input indices)
    for part, (prompts, done) in enumerate(parts):
        encoded = [prompt_token_ids(prompt, tokenizer, system) for prompt in prompts]
        work += [(part, [encoded[i] for i in batch], batch)
                 for batch in plan_batches(encoded, batch_size, done)]
    config = greedy_config(model, tokenizer, max_new_tokens)
    world, rank = ranks.world_size(), ranks.rank()
    for start in range(0, len(work), world):
        mine = start + rank
        outputs = None
        if mine < len(work):
            outputs = decode_batch(model, tokenizer, work[mine][1], config,
                                      StopRequested(None))
        gathered = ranks.gather((mine, outputs))
        stop = False
        if gathered is not None:
            for index, batch_outputs in gathered:
                if batch_outputs is not None and on_batch is not None:
                    on_batch(work[index][0], work[index][2], batch_outputs)
            stop = should_stop is not None and start + world < len(work) and should_stop()
        if ranks.share(stop):
            raise GenerationStopped({})

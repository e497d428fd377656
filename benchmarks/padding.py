"""How much of a batching mode's compute is padding, and what removing it can buy at most.

On a machine where a step costs in proportion to the tokens it computes (padding included),
the tokens/s of mode A over mode B cannot beat (1 - padding_A) / (1 - padding_B). The training
benchmark reports its measured ratio against this bound: near 1.0 means the batching does all a
batching can, and a missed speed-up target is a property of the data's length spread.
"""

from __future__ import annotations

import statistics
from typing import Sequence


def padding_fraction(lengths: Sequence[int], mode: str, batch_size: int, max_length: int,
                     seed: int = 0, epoch: int = 0) -> float:
    """Exact share of the computed tokens that are padding, for one epoch of the engine's own
    batches (engine.student.data.make_batching) in `mode`."""
    from engine.student.data import make_batching

    sampler, _ = make_batching(mode, lengths, batch_size, seed, 0, max_length)
    computed = sum(len(batch) * _width(mode, [lengths[i] for i in batch], max_length)
                   for batch in sampler.batches(epoch))
    return 1 - sum(lengths) / computed


def _width(mode: str, batch_lengths: list[int], max_length: int) -> float:
    if mode == "pad_max":
        return max_length
    if mode == "packed":
        return sum(batch_lengths) / len(batch_lengths)
    return max(batch_lengths)


def speedup_bound(padding_ours: float, padding_baseline: float) -> float:
    """The most a mode with `padding_ours` can gain over one with `padding_baseline` when cost is
    linear in computed tokens."""
    return (1 - padding_ours) / (1 - padding_baseline)


def length_summary(lengths: Sequence[int]) -> str:
    """Mean and percentiles of a length distribution, for a figure's note."""
    cuts = statistics.quantiles(lengths, n=20)
    return (f"mean {statistics.mean(lengths):.0f}, p5 {cuts[0]:.0f}, p50 "
            f"{statistics.median(lengths):.0f}, p95 {cuts[-1]:.0f}, max {max(lengths)}")

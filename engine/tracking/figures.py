"""The loop's figures of one finished iteration, as flat scalar names for a tracker.

Every accuracy goes with its n and its Wilson interval (low/high), as everywhere the product
shows one. Names group in TensorBoard by their first part: val/, test/, train/, teacher/, time/.
"""

from __future__ import annotations

import store
from store.models import SplitCounts
from engine.grading.stats import wilson_interval


def iteration_scalars(iteration: store.Iteration) -> dict[str, float]:
    scalars: dict[str, float] = {}
    for split in ("val", "test", "train"):
        counts = iteration.scored(split)
        if counts is not None:
            scalars.update(_split_scalars(split, counts))
    scalars.update(_teacher_scalars(iteration))
    if iteration.train_loss is not None:
        scalars["train/mean_loss"] = float(iteration.train_loss)
    if iteration.train_size is not None:
        scalars["train/examples"] = float(iteration.train_size)
    if iteration.wall_seconds is not None:
        scalars["time/wall_s"] = float(iteration.wall_seconds)
    for stage, seconds in iteration.metrics.get("stage_seconds", {}).items():
        scalars[f"time/{stage}_s"] = float(seconds)
    return scalars


def _split_scalars(split: str, counts: SplitCounts) -> dict[str, float]:
    scalars = {f"{split}/n": float(counts.total)}
    for kind, correct in (("strict", counts.correct), ("flexible", counts.flexible_correct)):
        low, high = wilson_interval(correct, counts.total)
        scalars[f"{split}/{kind}_accuracy"] = correct / counts.total
        scalars[f"{split}/{kind}_low"] = low
        scalars[f"{split}/{kind}_high"] = high
    if counts.with_answer_line is not None:
        scalars[f"{split}/format_rate"] = counts.with_answer_line / counts.total
    return scalars


def _teacher_scalars(iteration: store.Iteration) -> dict[str, float]:
    """Yield (kept of attempted, with n), the rows not kept per reason, calls, tokens and cost;
    nothing for an iteration without a teacher pass (iteration 0, a transfer's training)."""
    if not iteration.teacher_attempted:
        return {}
    kept, attempted = iteration.teacher_kept or 0, iteration.teacher_attempted
    low, high = wilson_interval(kept, attempted)
    scalars = {"teacher/yield": kept / attempted, "teacher/yield_low": low,
               "teacher/yield_high": high, "teacher/kept": float(kept),
               "teacher/attempted": float(attempted),
               "teacher/calls": float(iteration.teacher_calls),
               "teacher/prompt_tokens": float(iteration.teacher_prompt_tokens),
               "teacher/completion_tokens": float(iteration.teacher_completion_tokens),
               "teacher/cost": float(iteration.teacher_cost)}
    for reason, count in iteration.metrics.get("teacher_rejected", {}).items():
        scalars[f"teacher/rejected/{reason}"] = float(count)
    return scalars

"""One sweep point: a policy at a budget over every example of the split, measured and scored.

The budget controller lives for the whole point, across its batches, so the share it holds is
the point's share. Batches are fixed by the prompts alone (longest first), so a point computed
again after a kill gives the same outputs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

from engine.wheels.budget import BudgetController, Cap, Ledger
from engine.wheels.config import SweepConfig
from engine.wheels.decoding import AssistedOutput, DecodeOptions, Models, assisted_generate
from engine.wheels.policies import (Always, Disagree, Learned, Never, Policy, RandomAsk,
                                    Threshold)
from engine.wheels.quality import resolve_metric, score_output, summarise
from store.errors import UndoError
from store.wheels import NewOutput, Point

Progress = Callable[[int, dict], None]  # (examples done in this point, live figures)


class PointStopped(Exception):
    """A stop request arrived between two batches; nothing of the point was stored."""


@dataclass(frozen=True)
class Prompts:
    student: list[list[int]]
    teacher: list[list[int]]


def make_policy(point: Point, config: SweepConfig, models: Models) -> Policy | None:
    """The policy object for a point (None for speculative decoding, which has none)."""
    seed = config.sweep.seed * 1000 + point.position
    if point.policy == "learned":
        if models.ask_token_id is None:
            raise UndoError(f"policy 'learned' needs a student with an <ask> token; "
                            f"{config.models.student} has none (Training Wheels part 2 trains one)")
        return Learned(models.ask_token_id, config.learned.min_probability)
    factories = {"student": Never, "teacher": Always, "disagree": Disagree,
                 "random": lambda: RandomAsk(seed),
                 "threshold": lambda: Threshold(config.threshold.signal)}
    return None if point.policy == "speculative" else factories[point.policy]()


def cap_for(point: Point, config: SweepConfig) -> Cap:
    if config.budget.cap == "count":
        return Cap("count", config.budget.cap_count)
    return Cap(config.budget.cap, point.budget / 100)


def run_point(models: Models, tokenizer, examples: Sequence, prompts: Prompts, point: Point,
              config: SweepConfig, answer_type: str, should_stop: Callable[[], bool] = lambda: False,
              progress: Progress | None = None) -> tuple[dict, list[NewOutput]]:
    """Decode and score every example; (metrics for store.wheels.save_point, outputs)."""
    policy = make_policy(point, config, models)
    controller = None
    if policy is not None and policy.scored:
        controller = BudgetController(point.budget / 100, config.budget.horizon,
                                      config.budget.window)
    ledger = controller if controller is not None else Ledger()  # the point's tally
    options = DecodeOptions(max_new_tokens=config.decoding.max_new_tokens,
                            do_sample=config.decoding.do_sample,
                            temperature=config.decoding.temperature,
                            seed=config.sweep.seed * 1000 + point.position)
    size = 1 if policy is None else config.decoding.batch_size
    order = sorted(range(len(examples)), key=lambda i: (-len(prompts.student[i]), i))
    results: dict[int, AssistedOutput] = {}
    started = time.perf_counter()
    for start in range(0, len(order), size):
        if should_stop():
            raise PointStopped
        batch = order[start:start + size]
        outputs = _decode(models, prompts, batch, policy, cap_for(point, config), options,
                          controller, ledger, config)
        results.update(zip(batch, outputs))
        if progress is not None:
            progress(len(results), _live(results.values(), time.perf_counter() - started))
    wall = time.perf_counter() - started
    return _measure(point, config, examples, [results[i] for i in range(len(examples))],
                    tokenizer, answer_type, wall)


def _decode(models, prompts, batch, policy, cap, options, controller, ledger, config):
    teacher_prompts = [prompts.teacher[i] for i in batch]
    if policy is None:
        from engine.wheels.speculative import speculative_generate

        return speculative_generate(models, teacher_prompts, options,
                                    config.speculative.draft_tokens or None)
    return assisted_generate(models, [prompts.student[i] for i in batch], teacher_prompts,
                             policy, cap, options, controller, ledger)


def _live(outputs, seconds: float) -> dict:
    outputs = list(outputs)
    tokens = sum(o.new_tokens for o in outputs)
    return {"tokens_per_s": tokens / seconds if seconds > 0 else 0.0,
            "share": sum(o.asks for o in outputs) / tokens if tokens else 0.0}


def _measure(point: Point, config: SweepConfig, examples, outputs: list[AssistedOutput],
             tokenizer, answer_type: str, wall: float) -> tuple[dict, list[NewOutput]]:
    metric = resolve_metric(config.quality.metric, answer_type)
    stated = Cap("share", point.budget / 100)
    stored, scores, over_share = [], [], 0
    for example, output in zip(examples, outputs):
        pieces = token_pieces(tokenizer, output.token_ids)
        text = "".join(pieces)
        scored = score_output(metric, text, example, answer_type)
        scores.append(scored.score)
        if point.policy != "speculative" and stated.violated(output.asks, output.new_tokens):
            over_share += 1
        stored.append(NewOutput(
            example_id=example.id, text=text, pieces=pieces,
            owners="".join("t" if owned else "s" for owned in output.owners),
            answer=scored.answer, score=scored.score, new_tokens=output.new_tokens,
            asks=output.asks, teacher_tokens=output.teacher_tokens, finished=output.finished))
    quality = summarise(metric, scores)
    written = sum(o.asks for o in outputs)
    tokens = sum(o.new_tokens for o in outputs)
    # a violation breaks the budget the cap holds: each sequence's share, or the point's
    violations = over_share
    if config.budget.cap == "point":
        violations = int(point.policy != "speculative" and stated.violated(written, tokens))
    metrics = {
        "metric": metric, "n": quality.n, "correct": quality.correct, "quality": quality.value,
        "quality_low": quality.low, "quality_high": quality.high,
        "tokens": tokens, "teacher_written": written,
        "teacher_tokens": sum(o.teacher_tokens for o in outputs),
        "teacher_calls": sum(o.teacher_calls for o in outputs),
        "teacher_forwards": sum(o.teacher_forwards for o in outputs), "wall_s": wall,
        "violations": violations,
        "metrics": {"finished": sum(o.finished for o in outputs),
                    "sequences_over_share": over_share,
                    "cap": config.budget.cap, "batch_size": config.decoding.batch_size},
    }
    return metrics, stored


def token_pieces(tokenizer, ids: Sequence[int]) -> list[str]:
    """The text each token adds (special tokens add none), so "".join(pieces) is the decoded
    output. A character split over several byte tokens is credited to the token completing it.
    Decodes a short window per token (incremental detokenisation); a tokenizer whose text is
    not the concatenation of its windows falls back to decoding every prefix."""
    pieces, prefix, read = [], 0, 0
    for end in range(1, len(ids) + 1):
        before = tokenizer.decode(ids[prefix:read], skip_special_tokens=True)
        after = tokenizer.decode(ids[prefix:end], skip_special_tokens=True)
        if after.startswith(before) and not after.endswith("\ufffd"):
            pieces.append(after[len(before):])
            prefix, read = read, end
        else:
            pieces.append("")
    if "".join(pieces) == tokenizer.decode(ids, skip_special_tokens=True):
        return pieces
    return _prefix_pieces(tokenizer, ids)


def _prefix_pieces(tokenizer, ids: Sequence[int]) -> list[str]:
    pieces, shown = [], ""
    for end in range(1, len(ids) + 1):
        text = tokenizer.decode(ids[:end], skip_special_tokens=True)
        if text.startswith(shown) and not text.endswith("\ufffd"):
            pieces.append(text[len(shown):])
            shown = text
        else:
            pieces.append("")
    return pieces

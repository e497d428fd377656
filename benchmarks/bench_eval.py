"""Student evaluation: batched greedy generation against one-at-a-time greedy generation.

Same questions (GSM8K test), same max_new_tokens, same model. The identity check runs in float32:
there a padded row computes what the lone row computes, to the last bit in practice. In bf16 the
CPU/GPU kernels round differently for different batch shapes, so batched and single bf16 decodes
drift apart after a few dozen tokens (both are "greedy"; neither is more right); we report how far
bf16 output agrees with float32 instead, beside its speed.
quick: tiny random Llama; full: SmolLM2-135M from its GGUF.
"""

from __future__ import annotations

import json
import time

from benchmarks.bench_training import GSM8K, student_model
from benchmarks.report import Figure, emit


def questions(n: int) -> list[str]:
    with (GSM8K / "test.jsonl").open(encoding="utf-8") as rows:
        return [json.loads(row)["question"] for _, row in zip(range(n), rows)]


def warm_up(model, tokenizer, prompts) -> None:
    """First calls pay one-off kernel setup (seconds on CPU in bf16); keep it out of the timings."""
    from engine.student.generation import generate_with_model

    generate_with_model(model, tokenizer, prompts[:2], 4, 2)
    generate_with_model(model, tokenizer, prompts[:1], 4, 1)


def timed_generation(model, tokenizer, prompts, max_new_tokens: int, batch_size: int,
                     repeats: int = 1):
    """(outputs, useful generated tokens per second), best of `repeats`: other processes on the
    machine only ever slow a run down."""
    from engine.student.generation import generate_with_model

    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        outputs = generate_with_model(model, tokenizer, prompts, max_new_tokens, batch_size)
        seconds = time.perf_counter() - started
        best = max(best, sum(o.new_tokens for o in outputs) / seconds)
    return outputs, best


def run(quick: bool) -> list[Figure]:
    from engine.student.generation import load_student
    from engine.student.loading import default_device

    # Batched passes are short, so take the best of 3 (other processes only slow a pass down);
    # one-at-a-time passes take minutes each in full mode and run once.
    n, max_new, batch, repeats, single_repeats = (8, 32, 8, 2, 2) if quick else (16, 128, 16, 3, 1)
    figures: list[Figure] = []
    if not (GSM8K / "test.jsonl").is_file():
        print(f"# skipped: {GSM8K / 'test.jsonl'} not found")
        return figures
    path = student_model(quick)
    if path is None:
        return figures
    prompts = questions(n)
    device = default_device()
    label = f"{'tiny random Llama' if quick else 'SmolLM2-135M'} {device}"
    model, tokenizer = load_student(path, dtype="float32", device=device)
    warm_up(model, tokenizer, prompts)
    batched, batched_rate = timed_generation(model, tokenizer, prompts, max_new, batch, repeats)
    single, single_rate = timed_generation(model, tokenizer, prompts, max_new, 1,
                                           single_repeats)
    identical = [b.token_ids == s.token_ids for b, s in zip(batched, single)]
    note = f"{label} float32, {n} GSM8K questions, max_new_tokens {max_new}, batch {batch}"
    figures.append(emit(Figure("eval_tokens_per_s_batched_vs_one_at_a_time", batched_rate, "tok/s",
                               single_rate, f"{note}; best of {repeats} batched, "
                                            f"{single_repeats} one-at-a-time")))
    figures.append(emit(Figure("eval_speedup", batched_rate / single_rate, "x")))
    figures.append(emit(Figure("eval_identical_predictions", float(all(identical)), "bool",
                               note=f"{sum(identical)}/{n} token-identical")))
    figures += bf16_figures(path, prompts, max_new, batch, batched, batched_rate, device, repeats)
    del model
    if not all(identical):
        raise AssertionError(f"batched generation differs from one-at-a-time on "
                             f"{n - sum(identical)} of {n} questions")
    return figures


def bf16_figures(path, prompts, max_new, batch, fp32_outputs, fp32_rate, device, repeats) -> list[Figure]:
    """The engine's default compute dtype: its speed, and how often it says what float32 says."""
    from engine.student.generation import load_student

    model, tokenizer = load_student(path, dtype="bfloat16", device=device)
    warm_up(model, tokenizer, prompts)
    outputs, rate = timed_generation(model, tokenizer, prompts, max_new, batch, repeats)
    same = sum(a.text == b.text for a, b in zip(outputs, fp32_outputs))
    return [emit(Figure("eval_tokens_per_s_bf16_vs_float32_batched", rate, "tok/s", fp32_rate,
                        note=f"both batched, best of {repeats} each")),
            emit(Figure("eval_bf16_same_text_as_float32", same / len(prompts), "frac",
                        note="greedy text identical to the float32 decode"))]


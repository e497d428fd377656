"""The batched llama.cpp teacher: `concurrency` sequences in one context against one at a time.

The same loaded model and the same teacher pass (graded, stored, fresh store each time) run the
same GSM8K prompts with 8 calls in flight (decoded together) and with 1 (decoded one after
another); the variants alternate, best of `reps` each. Also: whether every stored text is the
same in both (it must be: greedy decoding per sequence does not depend on the batch), and the
bare llama-cpp-python `create_chat_completion` loop the teacher used before, one call at a time.

Run: `python -m benchmarks teacher_batch [--quick]`. Other work on the machine changes the
figures; note `uptime` beside them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.bench_teacher import _bare, _fresh_store, _gsm8k, llama_skip_reason
from benchmarks.report import Figure, emit

BATCH = 8


def _pass(tmp: Path, teacher, rows: list[dict], name: str, concurrency: int):
    """(completion tokens, wall seconds, stored texts) of one teacher pass over `rows`."""
    import store
    from engine.generation import PassItem, PassOptions, run_teacher_pass

    db, run_id, examples = _fresh_store(tmp, name, rows)
    teacher.concurrency = concurrency  # calls the pass keeps in flight: 1 = one at a time
    try:
        report = run_teacher_pass(db, teacher, [PassItem(e) for e in examples],
                                  PassOptions(run_id=run_id, keep="all"))
        assert report.calls_made == len(examples) and report.failed == 0, report
        texts = [r.text for r in store.rationales_for_iteration(db, run_id, 1)]
    finally:
        db.close()
    return report.completion_tokens, report.wall_s, texts


def batch_figures(tmp: Path, quick: bool) -> list[Figure]:
    from engine.config import LlamaCppTeacherConfig
    from engine.prompts import load_template, prompt_fields
    from engine.teachers import make_teacher

    n, max_tokens, reps = (BATCH, 16, 1) if quick else (2 * BATCH, 48, 2)
    config = LlamaCppTeacherConfig(model="smollm2", max_tokens=max_tokens, concurrency=BATCH)
    teacher = make_teacher(config, log_path=tmp / "llama.log")
    rows = _gsm8k(n + 1)
    runs: dict[str, list[tuple[int, float]]] = {"batched": [], "one": [], "bare": []}
    texts: dict[str, list[str]] = {}
    together = [0, 0]  # decode steps of the batched passes, and the sequences they decoded
    try:
        _pass(tmp, teacher, rows[n:], "warm", 1)  # page the model in before anything is timed
        rows = rows[:n]
        for rep in range(reps):
            for variant, concurrency in (("batched", BATCH), ("one", 1)):
                before = teacher.decode_steps()
                tokens, wall, texts[variant] = _pass(tmp, teacher, rows, f"{variant}{rep}",
                                                     concurrency)
                runs[variant].append((tokens, wall))
                if variant == "batched":
                    after = teacher.decode_steps()
                    together = [together[0] + after[0] - before[0],
                                together[1] + after[1] - before[1]]
            _, _, examples = _fresh_store(tmp, f"bare{rep}", rows)
            messages = [load_template("initial").render(prompt_fields(e, "number"),
                                                        config.system_prompt) for e in examples]
            runs["bare"].append(_bare(teacher, messages, max_tokens, tmp, "bare"))
    finally:
        teacher.close()
    rate = {v: max(t / s for t, s in r) for v, r in runs.items()}
    same = sum(a == b for a, b in zip(texts["batched"], texts["one"])) / n
    load = os.getloadavg()[0]
    conditions = (f"{n} GSM8K prompts, max_tokens {max_tokens}, best of {reps}; "
                  f"1-min load {load:.1f} on {os.cpu_count()} cores")
    return [
        emit(Figure(f"teacher_llamacpp_tok_per_s_batched{BATCH}_vs_one_at_a_time",
                    rate["batched"], "tok/s", baseline=rate["one"],
                    note=f"same model and pass, {BATCH} calls in flight vs 1; "
                         f"{together[1] / max(1, together[0]):.1f} sequences per decode step; {conditions}; "
                         f"goal ratio >= 1.5")),
        emit(Figure(f"teacher_llamacpp_batched{BATCH}_same_text_as_one_at_a_time", same,
                    "share", note=f"n={n} stored texts compared; must be 1")),
        emit(Figure(f"teacher_llamacpp_tok_per_s_batched{BATCH}_vs_bare_one_at_a_time",
                    rate["batched"], "tok/s", baseline=rate["bare"],
                    note="baseline = llama-cpp-python create_chat_completion in a loop (the "
                         "teacher before batching; no pass, no store)")),
    ]


def run(quick: bool) -> list[Figure]:
    reason = llama_skip_reason()
    if reason:
        print(f"# teacher_batch skipped: {reason}")
        return []
    with tempfile.TemporaryDirectory(prefix="bench-teacher-batch-") as tmp:
        return batch_figures(Path(tmp), quick)

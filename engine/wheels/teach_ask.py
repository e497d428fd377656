"""`undo-tui wheels teach-ask CONFIG --out DIR`: a student that asks, warm-started from a sweep's
settings, so the sweep's `learned` policy has a student to run.

The sweep config says everything needed: the dataset and its training split, the pair, the
prompts each model reads (the student's budget sentence included) and the training data (the
teacher's kept rationales or the task's worked solutions, as `[distill] data` chooses). The
student is `[models] student` unless given: distil it first (a sweep's `runs/run-N/student`).
With `pcl.steps` > 0 the warm-started student then trains by constrained PCL on its own rollouts
(engine.wheels.ask_pcl) before it is saved, its per-step metrics in `pcl_metrics.json` beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import store
from engine.model_registry import model_path
from engine.wheels.ask_pcl import level_key, train_ask_pcl, with_ask
from engine.wheels.ask_settings import AskPCL
from engine.wheels.ask_training import (AskTraining, Reference, ask_features, save_asker,
                                        train_asker)
from engine.wheels.config import SweepConfig
from engine.wheels.deferral import Labelling
from store.errors import UndoError


@dataclass(frozen=True)
class TaughtAsker:
    out_dir: Path
    references: int
    tokens: int  # continuation tokens per level
    asks: dict[float, int]  # level -> labelled positions
    losses: list[float]
    pcl: list[dict[str, float]]  # the constrained PCL stage's metrics per step (none: skipped)


METRICS_FILE = "pcl_metrics.json"


def teach_ask(db, config: SweepConfig, out_dir: Path, levels: Sequence[float],
              labelling: Labelling, settings: AskTraining, student: Path | None = None,
              echo: Callable[[str], None] = lambda _line: None,
              pcl: AskPCL = AskPCL()) -> TaughtAsker:
    from transformers import AutoTokenizer

    from engine.wheels.ask_token import add_ask_token
    from engine.wheels.distill import training_pairs
    from engine.wheels.models import load_pair

    dataset = store.get_dataset(db, config.sweep.dataset)
    pairs, info = training_pairs(db, config, dataset.id)
    student_path = Path(student) if student is not None else model_path(config.models.student)
    models, tokenizer = load_pair(student_path, model_path(config.models.teacher), "float32",
                                  settings.device)
    references = _references(db, dataset, config, pairs, tokenizer, levels)
    echo(f"labelling {len(references)} {info['data']} continuations at budgets "
         f"{', '.join(f'{100 * level:g}%' for level in levels)} ({labelling})")
    own_tokenizer = AutoTokenizer.from_pretrained(student_path)
    ask_id = add_ask_token(models.student, own_tokenizer)
    built = ask_features(models, ask_id, references, levels, labelling)
    echo("labelled <ask>: " + ", ".join(
        f"{100 * level:g}% {count}/{built.tokens}" for level, count in built.asks.items()))
    def progress(step: int, total: int, loss: float) -> None:
        if step == 1 or step % 10 == 0 or step == total:
            echo(f"[teach-ask] {step}/{total} · loss {loss:.3f}")

    losses = train_asker(models.student, own_tokenizer, built.features, None, settings,
                         progress)
    history = []
    if pcl.steps > 0:
        history = train_ask_pcl(with_ask(models, ask_id), references, levels, pcl,
                                lambda step, total, metrics: echo(pcl_line(step, total, metrics,
                                                                           levels)))
    save_asker(models.student, own_tokenizer, Path(out_dir),
               {METRICS_FILE: [{"step": i + 1, **m} for i, m in enumerate(history)]}
               if history else None)
    return TaughtAsker(Path(out_dir), len(references), built.tokens, built.asks, losses, history)


def pcl_line(step: int, total: int, metrics: dict[str, float], levels: Sequence[float]) -> str:
    """'[teach-ask pcl] 3/10 · loss 1.234 · residual 2.10 · 10% λ 0.25 used 12.5% · ...'"""
    per_level = " · ".join(
        f"{level_key(level)}% λ {metrics[f'lambda_{level_key(level)}']:.2f} used "
        f"{100 * metrics[f'usage_{level_key(level)}']:.1f}%" for level in levels)
    return (f"[teach-ask pcl] {step}/{total} · loss {metrics['loss']:.3f} · residual "
            f"{metrics['residual_ms']:.2f} · {per_level}")


def _references(db, dataset, config: SweepConfig, pairs, tokenizer,
                levels: Sequence[float]) -> list[Reference]:
    from engine.student.prompting import completion_token_ids
    from engine.wheels.prompts import build_prompts

    by_question = {e.question: e for e in store.load_examples(db, dataset.id,
                                                              config.distill.split)}
    chosen = [(by_question[q], text) for q, text in pairs if q in by_question]
    if not chosen:
        raise UndoError(f"teach-ask: no training continuations in the {config.distill.split!r} "
                        f"split of {dataset.name}")
    examples = [example for example, _ in chosen]
    teacher = build_prompts(examples, tokenizer, config, dataset.answer_type).teacher
    students = {level: build_prompts(examples, tokenizer, config, dataset.answer_type,
                                     100 * level).student for level in levels}
    return [Reference({level: students[level][i] for level in levels}, teacher[i],
                      completion_token_ids(text, tokenizer))
            for i, (_, text) in enumerate(chosen)]

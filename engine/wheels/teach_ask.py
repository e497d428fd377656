"""The two stages of teaching a student to ask (an ask run's work, engine.wheels.ask_run), from
a sweep's settings, so the sweep's `learned` policy has a student to run.

The sweep config says everything needed: the dataset and its training split, the pair, the
prompts each model reads (the student's budget sentence included) and the training data (the
teacher's kept rationales or the task's worked solutions, as `[distill] data` chooses). The
warm start adds `<ask>` to the student, labels deferral positions per stated budget and
fine-tunes it (resumable Trainer state); its result, a complete model directory, is where the
constrained PCL stage (engine.wheels.ask_pcl, its own resumable state) starts, so a resume
after the warm start never repeats it and both an uninterrupted and a resumed run start PCL
from the same saved weights.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import store
from engine.in_process import Stopped
from engine.model_registry import model_path
from engine.wheels.ask_run_config import AskRunConfig
from engine.wheels.ask_training import Reference
from store.errors import UndoError

ASK_INFO = "undo_ask.json"  # the warm start's summary, beside the weights
METRICS_FILE = "pcl_metrics.json"  # the PCL stage's metrics per step, beside the asker's weights


@dataclass(frozen=True)
class StageHooks:
    """How the stages report and learn of a stop: the run's side of them."""

    echo: Callable[[str], None]
    should_stop: Callable[[], bool]
    saving: Callable[[], object]  # a fresh engine.student.training.SavePolicy per stage
    warm_progress: Callable[[dict], None]  # a warm-start step's figures
    pcl_started: Callable[[int], None]  # the PCL stage starts its steps after step k (0: fresh)
    pcl_progress: Callable[[int, int, dict], None]  # (step, total, metrics) of a PCL step
    warm_tracking: object = None  # engine.tracking.places.TrainingTracking of the warm start


def warm_start(db, config: AskRunConfig, warm_dir: Path, state_dir: Path,
               hooks: StageHooks) -> dict:
    """Label, fine-tune and save the warm-started asker to `warm_dir` (complete or absent);
    its summary (data, references, labelled asks per level, losses). A stop request saves the
    Trainer state in `state_dir` and raises Stopped; a later call continues from it."""
    from transformers import AutoTokenizer

    from engine.student.loading import model_identity
    from engine.wheels.ask_token import add_ask_token
    from engine.wheels.ask_training import ask_features, save_asker, train_asker
    from engine.wheels.models import load_pair

    sweep, levels = config.sweep, config.ask.levels
    student_path = model_path(config.ask.student or sweep.models.student)
    models, tokenizer = load_pair(student_path, model_path(sweep.models.teacher), "float32",
                                  config.warm.device)
    references, data = ask_references(db, config, tokenizer)
    hooks.echo(f"labelling {len(references)} {data} continuations at budgets "
               f"{', '.join(f'{100 * level:g}%' for level in levels)} ({config.ask.labelling})")
    own_tokenizer = AutoTokenizer.from_pretrained(student_path)
    ask_id = add_ask_token(models.student, own_tokenizer)
    built = ask_features(models, ask_id, references, levels, config.ask.labelling)
    hooks.echo("labelled <ask>: " + ", ".join(
        f"{100 * level:g}% {count}/{built.tokens}" for level, count in built.asks.items()))
    result = train_asker(models.student, own_tokenizer, built.features, None, config.warm,
                         hooks.warm_progress, hooks.should_stop, state_dir,
                         model_identity(student_path), hooks.saving(), hooks.warm_tracking)
    if result.stopped:
        raise Stopped
    summary = {"data": data, "references": len(references), "tokens": built.tokens,
               "asks": {f"{100 * level:g}": count for level, count in built.asks.items()},
               "losses": result.losses, "resumed_from_step": result.resumed_from_step}
    save_asker(models.student, own_tokenizer, warm_dir, {ASK_INFO: summary})
    return summary


def pcl_stage(db, config: AskRunConfig, warm_dir: Path, asker_dir: Path, state_dir: Path,
              hooks: StageHooks) -> list[dict]:
    """Train the warm-started asker in `warm_dir` by constrained PCL (resumable from
    `state_dir`) and save it to `asker_dir` with its metrics per step; those metrics."""
    from transformers import AutoTokenizer

    from engine.student.loading import model_identity
    from engine.wheels.ask_pcl import train_ask_pcl
    from engine.wheels.ask_pcl_state import PCLCheckpoints
    from engine.wheels.ask_training import save_asker
    from engine.wheels.models import load_pair

    models, tokenizer = load_pair(warm_dir, model_path(config.sweep.models.teacher), "float32",
                                  config.warm.device)
    references, _ = ask_references(db, config, tokenizer)
    history = []
    if config.pcl.steps > 0:
        checkpoints = PCLCheckpoints(state_dir, model_identity(warm_dir), hooks.saving(),
                                     hooks.should_stop, hooks.pcl_started)
        history = train_ask_pcl(models, references, config.ask.levels, config.pcl,
                                hooks.pcl_progress, checkpoints=checkpoints)
    summary = json.loads((warm_dir / ASK_INFO).read_text(encoding="utf-8"))
    save_asker(models.student, AutoTokenizer.from_pretrained(warm_dir), asker_dir,
               {ASK_INFO: summary, METRICS_FILE: [{"step": i + 1, **m}
                                                  for i, m in enumerate(history)]})
    return history


def pcl_line(step: int, total: int, metrics: dict[str, float], levels: Sequence[float]) -> str:
    """'[teach-ask pcl] 3/10 · loss 1.234 · residual 2.10 · 10% λ 0.25 used 12.5% · ...'"""
    from engine.wheels.ask_report import level_figures

    return (f"[teach-ask pcl] {step}/{total} · loss {metrics['loss']:.3f} · residual "
            f"{metrics['residual_ms']:.2f} · {level_figures(metrics, levels)}")


def ask_references(db, config: AskRunConfig, tokenizer) -> tuple[list[Reference], str]:
    """(the training continuations with every model's prompts, which data they are)."""
    from engine.student.prompting import completion_token_ids
    from engine.wheels.distill import training_pairs
    from engine.wheels.prompts import build_prompts

    sweep, levels = config.sweep, config.ask.levels
    dataset = store.get_dataset(db, sweep.sweep.dataset)
    pairs, info = training_pairs(db, sweep, dataset.id)
    by_question = {e.question: e for e in store.load_examples(db, dataset.id,
                                                              sweep.distill.split)}
    chosen = [(by_question[q], text) for q, text in pairs if q in by_question]
    if not chosen:
        raise UndoError(f"teach-ask: no training continuations in the {sweep.distill.split!r} "
                        f"split of {dataset.name}")
    examples = [example for example, _ in chosen]
    teacher = build_prompts(examples, tokenizer, sweep, dataset.answer_type).teacher
    students = {level: build_prompts(examples, tokenizer, sweep, dataset.answer_type,
                                     100 * level).student for level in levels}
    return [Reference({level: students[level][i] for level in levels}, teacher[i],
                      completion_token_ids(text, tokenizer))
            for i, (_, text) in enumerate(chosen)], info["data"]

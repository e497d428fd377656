"""The warm start of a student that asks: supervised deferral at several stated budgets.

Each training example is a reference continuation (a worked solution or a kept rationale) after
the student's prompt with its budget sentence. The targets are the continuation's own tokens,
except at the positions engine.wheels.deferral labels for that budget, whose target is `<ask>`:
the student learns to ask there and to write everything else. The continuation itself never
contains `<ask>`, as at test time, where the teacher's token replaces the ask in the context.
The same example appears once per budget level, so one model learns every level and asks less
when its prompt states a lower budget.

Full fine-tuning, not LoRA: the new token's embedding row must train (students here are small).
transformers' Trainer runs the steps; the constrained PCL stage (engine.wheels.ask_pcl) may
follow, on the student's own rollouts.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from engine.student.data import IGNORE
from engine.wheels.ask_settings import AskTraining
from engine.wheels.decoding import Models
from engine.wheels.deferral import Labelling, ask_positions, teacher_forced_margins

DEFAULT_LEVELS = (0.0, 0.1, 0.2, 0.4)


@dataclass(frozen=True)
class Reference:
    """One example: the student's prompt per level, the teacher's prompt, the continuation."""

    student_prompts: dict[float, list[int]]  # budget level (0-1) -> prompt ids with its sentence
    teacher_prompt: list[int]
    continuation: list[int]  # ids, EOS included


def build_references(pairs: Sequence[tuple[str, str]], tokenizer, levels: Sequence[float],
                     sentence: str, teacher_prompt=None) -> list[Reference]:
    """References from (question, continuation text) pairs: the student reads the bare question
    with the budget `sentence` ({percent}) as its system message, the teacher the bare question
    unless `teacher_prompt(question)` gives its ids (e.g. its one-shot template)."""
    from engine.student.prompting import completion_token_ids, prompt_token_ids

    references = []
    for question, text in pairs:
        student = {level: prompt_token_ids(question, tokenizer,
                                           sentence.format(percent=f"{100 * level:g}"))
                   for level in levels}
        teacher = (teacher_prompt(question) if teacher_prompt is not None
                   else prompt_token_ids(question, tokenizer))
        references.append(Reference(student, list(teacher), completion_token_ids(text, tokenizer)))
    return references


@dataclass(frozen=True)
class AskSet:
    features: list[dict]  # input_ids and labels, one per reference and level
    asks: dict[float, int]  # level -> positions labelled <ask>
    tokens: int  # continuation tokens per level


def ask_features(models: Models, ask_id: int, references: Sequence[Reference],
                 levels: Sequence[float] = DEFAULT_LEVELS,
                 labelling: Labelling = "margin") -> AskSet:
    """Training features for every reference at every level. The margins are computed once per
    reference, with the prompt of the lowest level (the student's greedy choice, not its ask)."""
    features, asks, tokens = [], {level: 0 for level in levels}, 0
    for reference in references:
        lowest = reference.student_prompts[min(levels)]
        margins = teacher_forced_margins(models, lowest, reference.teacher_prompt,
                                         reference.continuation)
        tokens += len(reference.continuation)
        for level in levels:
            labelled = set(ask_positions(margins, level, labelling))
            asks[level] += len(labelled)
            prompt = reference.student_prompts[level]
            targets = [ask_id if j in labelled else token
                       for j, token in enumerate(reference.continuation)]
            features.append({"input_ids": prompt + reference.continuation,
                             "labels": [IGNORE] * len(prompt) + targets})
    return AskSet(features, asks, tokens)


@dataclass(frozen=True)
class WarmResult:
    losses: list[float]  # per optimizer step, those before a resume included
    stopped: bool  # a stop request ended it early; its state is saved for a resume
    resumed_from_step: int  # 0: started afresh


def train_asker(model, tokenizer, features: list[dict], out_dir: Path | None,
                settings: AskTraining = AskTraining(), progress=None, should_stop=None,
                state_dir: Path | None = None, base_identity: str = "",
                saving=None, tracking=None) -> WarmResult:
    """Fine-tune `model` (already carrying <ask>) on `features` and save it with its tokenizer
    to `out_dir` (complete or absent; None: not saved, a later stage saves it). `progress`
    gets each optimizer step's figures (a dict: step, total_steps, loss, lr, eta_s, ...);
    `should_stop` is asked after each step. With `state_dir`, Trainer checkpoints (weights,
    optimizer, scheduler, RNG, sampler position) are saved there on a stop and when `saving`
    (engine.student.training.SavePolicy) says so, and a call with the same features and
    settings continues from the newest one (engine.student.resume: the same rules as a
    student's training; `base_identity`, the starting model's, is part of the fingerprint).
    `tracking` (engine.tracking.places.TrainingTracking) reports the curves to its trackers."""
    from transformers import PrinterCallback, Trainer, TrainingArguments

    from engine.student.data import ListDataset, PadCollator
    from engine.student.resume import fingerprint, prepare_state_dir
    from engine.student.training import SavePolicy, StepWatcher
    from engine.tracking.places import reporting_args, reporting_environment

    resume_from = None
    if state_dir is not None:
        resume_from = prepare_state_dir(Path(state_dir), fingerprint(
            features, asdict(settings), base_identity, None))
    watcher = StepWatcher(progress, should_stop, saving or SavePolicy(state_dir is not None))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with tempfile.TemporaryDirectory(prefix="undo-ask-") as scratch, \
            reporting_environment(tracking):
        args = TrainingArguments(
            output_dir=str(state_dir) if state_dir is not None else scratch,
            per_device_train_batch_size=settings.batch_size, num_train_epochs=settings.epochs,
            learning_rate=settings.lr, logging_steps=1, save_strategy="no",
            **reporting_args(tracking), disable_tqdm=True, seed=settings.seed,
            data_seed=settings.seed, use_cpu=settings.device == "cpu", remove_unused_columns=False,
            dataloader_num_workers=0, log_level="error")
        trainer = Trainer(model=model, args=args, train_dataset=ListDataset(features),
                          data_collator=PadCollator(pad), callbacks=[watcher])
        trainer.remove_callback(PrinterCallback)
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    model.eval()
    if out_dir is not None and not watcher.stopped:
        save_asker(model, tokenizer, Path(out_dir))
    return WarmResult(list(watcher.losses), watcher.stopped, watcher.start_step)


def save_asker(model, tokenizer, out_dir: Path, records: dict[str, object] | None = None) -> None:
    """The asker and its tokenizer in `out_dir`, complete or absent, with each of `records`
    (file name -> JSON-able value) written beside the weights."""
    from engine.student.atomic import atomic_dir

    with atomic_dir(Path(out_dir)) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        for name, value in (records or {}).items():
            (Path(tmp) / name).write_text(json.dumps(value, indent=1) + "\n")

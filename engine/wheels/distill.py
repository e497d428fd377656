"""Distil the (shrunk) student with the student trainer before a sweep measures it: SFT, or the
objective [distill.training] names (kd, on_policy, pcl; the teacher is the sweep's own unless
training.teacher_model says otherwise).

On the teacher's kept rationales, or, where the teacher keeps too few (the 135M teacher kept 21
of 150 in a probe here), on the task's gold worked solutions as well; the sweep records which
data it used and how much. The checkpoint is written next to the run and reused on resume.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import store
from engine.model_registry import model_path
from engine.wheels.config import DistillData, SweepConfig
from store import wheels as store_wheels
from store.errors import UndoError

Progress = Callable[[dict], None]


def training_pairs(db, config: SweepConfig, dataset_id: int) -> tuple[list[tuple[str, str]], dict]:
    """(question, completion) pairs of a sweep's [distill] and a summary of where they came from."""
    return pairs_for(db, config.distill, dataset_id)


def pairs_for(db, settings: DistillData, dataset_id: int) -> tuple[list[tuple[str, str]], dict]:
    """(question, completion) pairs as `settings` choose them, and where they came from."""
    examples = store.load_examples(db, dataset_id, settings.split, include_excluded=False)
    by_id = {e.id: e for e in examples}
    source_run = _source_run(db, settings.from_run, dataset_id)
    kept = []
    if source_run is not None:
        rationales = store.latest_kept_rationales(db, source_run, 10**6)
        kept = [(by_id[i].question, r.text) for i, r in sorted(rationales.items()) if i in by_id]
    gold = [(e.question, e.rationale) for e in examples if e.rationale and e.rationale.strip()]
    choice = settings.data
    if choice == "auto":
        choice = "kept" if len(kept) >= settings.min_kept else "kept+gold"
    pairs = {"kept": kept, "gold": gold, "kept+gold": kept + gold}[choice]
    if not pairs:
        raise UndoError(f"distill: no training data ({choice}): {len(kept)} kept rationales "
                        f"(run {source_run}), {len(gold)} gold worked solutions in the "
                        f"{settings.split!r} split")
    info = {"data": choice, "requested": settings.data, "kept": len(kept) if "kept" in choice else 0,
            "gold": len(gold) if "gold" in choice else 0, "kept_available": len(kept),
            "source_run": source_run, "split": settings.split}
    return pairs, info


def _source_run(db, from_run: str, dataset_id: int) -> int | None:
    if from_run:
        run_id = int(from_run) if from_run.isdigit() else store_wheels.run_id_by_name(db, from_run)
        store.get_run(db, run_id)
        return run_id
    return store_wheels.newest_run_with_kept(db, dataset_id)


def ensure_distilled(db, config: SweepConfig, dataset_id: int, out_dir: Path,
                     progress: Progress | None = None,
                     should_stop: Callable[[], bool] | None = None,
                     tracking=None) -> tuple[Path, dict]:
    """The distilled student's directory, trained now unless a complete one is already there.
    `tracking` (engine.tracking.places.TrainingTracking) reports the curves to its trackers."""
    from engine.student.training import is_complete_checkpoint, train_student

    pairs, info = training_pairs(db, config, dataset_id)
    if is_complete_checkpoint(out_dir):
        return out_dir, info
    before = held_out_kl_of(db, config, dataset_id, model_path(config.models.student))
    started = time.perf_counter()
    result = train_student(model_path(config.models.student), pairs, out_dir,
                           config.distill.training, progress=progress,
                           should_stop=should_stop, state_dir=out_dir.parent / "distill-state",
                           tracking=tracking)
    info.update(objective=config.distill.training.objective, steps=result.steps,
                final_loss=result.final_loss, examples=result.examples,
                seconds=round(time.perf_counter() - started, 1), stopped=result.stopped)
    if before is not None and not result.stopped:
        after = held_out_kl_of(db, config, dataset_id, out_dir)
        info.update(held_out=config.distill.held_out, kl_before=before.as_dict(),
                    kl_after=after.as_dict())
    return out_dir, info


def held_out_kl_of(db, config: SweepConfig, dataset_id: int, student: Path):
    """KL(teacher||student) on the held-out split's gold solutions, or None when not asked for
    (`held_out = "none"`) or the split has no worked solutions."""
    from engine.student.teacher_kl import held_out_kl
    from engine.wheels.models import load_pair

    settings = config.distill
    if settings.held_out == "none":
        return None
    models, tokenizer = load_pair(student, model_path(config.models.teacher), "float32",
                                  settings.training.device or None)
    pairs = held_out_continuations(db, settings, dataset_id, tokenizer,
                                   settings.training.system_prompt)
    if not pairs:
        return None
    return held_out_kl(models.student, models.teacher, pairs, models.vocab_size)


def held_out_continuations(db, settings: DistillData, dataset_id: int, tokenizer,
                           system: str | None) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, gold solution ids) of the held-out split's first examples with a worked
    solution; empty when `held_out = "none"` or none has one."""
    from engine.student.prompting import completion_token_ids, prompt_token_ids

    if settings.held_out == "none":
        return []
    examples = [e for e in store.load_examples(db, dataset_id, settings.held_out,
                                               include_excluded=False)
                if e.rationale and e.rationale.strip()][:settings.held_out_limit]
    return [(prompt_token_ids(e.question, tokenizer, system),
             completion_token_ids(e.rationale, tokenizer)) for e in examples]

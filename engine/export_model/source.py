"""Which weights a run's export is made of, and what the model card says about where they came from.

An UNDO run (kinds undo, baseline, transfer) has one checkpoint per iteration: a LoRA adapter over
`[student] model`, or a whole model after full fine-tuning. A distillation run and an ask training
end in a complete model directory of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import store
from store import ask as store_ask
from store import distill as store_distill
from store.errors import UndoError

ITERATED_KINDS = ("undo", "baseline", "transfer")
DIRECTORY_KINDS = ("distill", "ask")


@dataclass(frozen=True)
class ModelSource:
    run: store.Run
    iteration: int | None  # None for a distilled student or an asker
    weights: Path  # a LoRA adapter directory or a complete model directory
    base: Path | None  # the model an adapter applies to (None: weights is complete)
    base_name: str  # as the run's config names it (an alias, a GGUF, a directory)
    system_prompt: str | None  # the student's system prompt, part of every prompt it learned
    scores: dict[str, tuple[int, int]] = field(default_factory=dict)  # split -> (correct, n)

    @property
    def is_adapter(self) -> bool:
        return self.base is not None


def resolve_source(db, run_id: int, iteration: int | str = "best") -> ModelSource:
    """The weights of `iteration` (a number or "best") of run `run_id`; an UndoError says why
    a run has none (still training, a kind without a student, a checkpoint gone from disk)."""
    run = store.get_run(db, run_id)
    if run.kind in ITERATED_KINDS:
        return _iteration_source(db, run, iteration)
    if run.kind in DIRECTORY_KINDS:
        if iteration != "best":
            raise UndoError(f"run {run.id} is a {run.kind} run: it has one student, not "
                            f"iterations (leave out --iteration)")
        return _directory_source(db, run)
    raise UndoError(f"run {run.id} is a {run.kind} run: it trains no student to export")


def _iteration_source(db, run: store.Run, iteration: int | str) -> ModelSource:
    from engine.config import stored_config
    from engine.model_registry import model_path
    from engine.student.training import is_complete_checkpoint

    k = run.best_iteration if iteration == "best" else int(iteration)
    if k is None:
        raise UndoError(f"run {run.id} has no best iteration yet (status {run.status}); give "
                        f"--iteration K")
    known = {it.k: it for it in store.list_iterations(db, run.id)}
    if k not in known:
        raise UndoError(f"run {run.id} has no iteration {k} (it has {sorted(known) or 'none'})")
    config = stored_config(run)
    base = model_path(config.student.model)
    scores = {split: _score(db, run.id, k, split) for split in ("val", "test", "train")}
    scores = {split: value for split, value in scores.items() if value[1]}
    system = config.student.system_prompt or None
    if k == 0:  # the untrained student
        return ModelSource(run, 0, base, None, config.student.model, system, scores)
    checkpoint = known[k].checkpoint_path
    if not checkpoint or not is_complete_checkpoint(Path(checkpoint)):
        raise UndoError(f"run {run.id} iteration {k} has no complete checkpoint "
                        f"({checkpoint or 'none recorded'}); it may still be training")
    weights = Path(checkpoint)
    is_adapter = (weights / "adapter_config.json").is_file()
    return ModelSource(run, k, weights, base if is_adapter else None, config.student.model,
                       system, scores)


def _directory_source(db, run: store.Run) -> ModelSource:
    if run.kind == "distill":
        outcome = store_distill.get_outcome(db, run.id)
        directory = outcome.student
        scores = {outcome.eval_split: (outcome.correct, outcome.n)} if outcome.n else {}
        base_name = run.config.get("distill", {}).get("student", run.student or "")
    else:
        outcome = store_ask.get_outcome(db, run.id)
        directory, scores = outcome.out_dir or outcome.asker, {}
        base_name = run.config.get("ask", {}).get("student") or run.student or ""
    if not directory or not (Path(directory) / "config.json").is_file():
        raise UndoError(f"run {run.id} ({run.kind}, status {run.status}) has no complete model "
                        f"directory yet ({directory or 'none recorded'})")
    system = run.config.get("training", {}).get("system_prompt") or None
    return ModelSource(run, None, Path(directory), None, base_name, system, scores)


def _score(db, run_id: int, k: int, split: str) -> tuple[int, int]:
    score = store.score(db, run_id, k, split)
    return score.correct, score.total

"""What a run takes from its dataset's curation before the teacher is asked anything.

Curation belongs to the example in its dataset (store.curation), so every run on the dataset
starts with it:

- Exclusions need nothing here: `StageContext.examples(include_excluded=False)` leaves excluded
  examples out of the teacher's questions and of training, and scores leave them out when an
  iteration is read (store.runs).
- A human rationale edit replaces the teacher in iteration 1: the example is not sent to the
  teacher, and the edit is stored as this run's iteration-1 rationale (source 'human', kept, its
  parent the edited version in the run it was made in). This is how the loop already consumes an
  edit made during a run: `training_pairs` trains on the newest kept rationale per example, and
  from iteration 2 on a refinement prompt shows it as the previous rationale. Asking the teacher
  again would pay for a rationale the human already replaced, and under `keep = "correct"` could
  drop an example the human fixed.
"""

from __future__ import annotations

import store
from engine.loop.stage_context import StageContext
from store.errors import UndoError


def carry_human_edits(ctx: StageContext) -> set[int]:
    """Store the dataset's human edits as iteration-1 rationales of this run (idempotent: a
    resumed stage keeps what it stored first); returns the examples that have one."""
    train = {e.id for e in ctx.examples("train", include_excluded=False)}
    edits = [e for e in store.human_edits(ctx.db, ctx.dataset.id).values()
             if e.example_id in train and e.run_id != ctx.run.id]
    store.add_rationales(ctx.db, [
        store.NewRationale(e.example_id, ctx.run.id, 1, "human", e.text, parent_id=e.rationale_id,
                           answer=e.answer, answer_rule=e.answer_rule, correct=e.correct,
                           kept=True) for e in edits])
    return {r.example_id for r in store.rationales_for_iteration(ctx.db, ctx.run.id, 1)
            if r.source == "human" and r.kept}


def describe_carried(edits: list[store.HumanEdit]) -> str:
    """"3 human-edited rationales from the dataset's curation (runs 2, 5)": the log line."""
    runs = sorted({e.run_id for e in edits if e.run_id is not None})
    where = f" (made in run{'s' if len(runs) > 1 else ''} {', '.join(map(str, runs))})" \
        if runs else ""
    return (f"{len(edits)} human-edited rationale{'' if len(edits) == 1 else 's'} from the "
            f"dataset's curation{where} used instead of asking the teacher")


def check_from_run(db, source_run_id: int, dataset_name: str) -> str:
    """`run --from-run N`: N must be on the run's dataset (UndoError naming both otherwise);
    returns the line that says what the new run starts with."""
    source = store.get_run(db, source_run_id)
    dataset = store.get_dataset(db, dataset_name)
    if source.dataset_id != dataset.id:
        theirs = (f"dataset {store.get_dataset(db, source.dataset_id).name!r}"
                  if source.dataset_id is not None else "no dataset")
        raise UndoError(f"--from-run {source_run_id}: run {source_run_id} ({source.name}) is on "
                          f"{theirs}, this config's dataset is {dataset.name!r}; curated data "
                          "carries over only within one dataset")
    made = store.curation_summary(db, dataset.id, source_run_id)
    return (f"starts from run {source_run_id}'s curated data ({made.describe()} made there); "
            + describe_dataset_curation(db, dataset.name))


def describe_dataset_curation(db, dataset_name: str) -> str:
    """What every new run on the dataset starts with, in one clause."""
    total = store.curation_summary(db, store.get_dataset(db, dataset_name).id)
    return f"dataset {dataset_name!r} in all: {total.describe()} (newest change wins)"

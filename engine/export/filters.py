"""Which rows an export holds: the rationale version per example, then the user's filters.

Per example the candidate is the kept rationale the training set of that iteration used
(`store.latest_kept_rationales`); a human edit is the newest kept version, so it wins unless the
user asks for the teacher's own text. Each filter stage is counted for the manifest, so a user who
gets fewer rows than expected can see which filter removed them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlite_utils import Database

import store
from engine.export.rows import export_record
from store.models import Example, Rationale, Run

STAGES = ("candidates", "after_excluded", "after_correct_only", "after_refined_only",
          "after_tags", "written")
MAX_CHAIN = 1000  # parent links followed before a chain is taken to be corrupt


@dataclass(frozen=True)
class ExportFilters:
    """What to keep. Tags: an example is kept if it has any `tags` and none of `exclude_tags`."""

    split: str = "train"
    correct_only: bool = False  # only rationales whose graded answer matched the gold one
    refined_only: bool = False  # only teacher_refined rationales, or human edits of one
    prefer_human: bool = True  # off: the teacher's version even where a human edited it
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"split": self.split, "correct_only": self.correct_only,
                "refined_only": self.refined_only, "prefer_human": self.prefer_human,
                "tags": list(self.tags), "exclude_tags": list(self.exclude_tags)}


@dataclass
class Selection:
    records: list[dict]
    counts: dict[str, int] = field(default_factory=dict)
    rationales: list[Rationale] = field(default_factory=list)


class Lineage:
    """Follows parent links (cached): a human edit's teacher version, and whether it was refined."""

    def __init__(self, db: Database):
        self.db = db
        self._seen: dict[int, Rationale] = {}

    def parent(self, rationale: Rationale) -> Rationale | None:
        if rationale.parent_id is None:
            return None
        if rationale.parent_id not in self._seen:
            try:
                self._seen[rationale.parent_id] = store.get_rationale(self.db, rationale.parent_id)
            except store.NotFound:
                return None
        return self._seen[rationale.parent_id]

    def teacher_version(self, rationale: Rationale) -> Rationale:
        """The newest non-human ancestor; the rationale itself when no such ancestor exists."""
        current = rationale
        for _ in range(MAX_CHAIN):
            if current.source != "human":
                return current
            parent = self.parent(current)
            if parent is None:
                return rationale
            current = parent
        return rationale

    def is_refined(self, rationale: Rationale) -> bool:
        return self.teacher_version(rationale).source == "teacher_refined"


def select_records(db: Database, run: Run, iteration: int, filters: ExportFilters) -> Selection:
    """The export records of `run` at `iteration`, with the row count after every stage."""
    lineage = Lineage(db)
    kept = store.latest_kept_rationales(db, run.id, iteration)
    examples = _examples(db, run, filters.split, kept)
    pairs = [(examples[example_id], _version(kept[example_id], filters, lineage))
             for example_id in sorted(kept) if example_id in examples]
    counts = {"candidates": len(pairs)}
    excluded = store.excluded_ids(db, run.dataset_id)
    pairs = [(e, r) for e, r in pairs if e.id not in excluded]
    counts["after_excluded"] = len(pairs)
    if filters.correct_only:
        pairs = [(e, r) for e, r in pairs if r.correct is True]
    counts["after_correct_only"] = len(pairs)
    if filters.refined_only:
        pairs = [(e, r) for e, r in pairs if lineage.is_refined(r)]
    counts["after_refined_only"] = len(pairs)
    pairs = _by_tags(db, pairs, filters)
    counts["after_tags"] = len(pairs)
    names = _dataset_names(db, {e.dataset_id for e, _ in pairs})
    records = [export_record(e, r, names.get(e.dataset_id)) for e, r in pairs]
    counts["written"] = len(records)
    return Selection(records, counts, [r for _, r in pairs])


def _version(rationale: Rationale, filters: ExportFilters, lineage: Lineage) -> Rationale:
    return rationale if filters.prefer_human else lineage.teacher_version(rationale)


def _examples(db: Database, run: Run, split: str, kept: dict[int, Rationale]) -> dict[int, Example]:
    """Examples of the split, by id: one query for the run's dataset, else one per rationale."""
    if run.dataset_id is not None:
        return {e.id: e for e in store.load_examples(db, run.dataset_id, split)}
    found = {}
    for example_id in kept:
        example = store.get_example(db, example_id)
        if example.split == split:
            found[example_id] = example
    return found


def _by_tags(db: Database, pairs: list, filters: ExportFilters) -> list:
    if filters.tags:
        wanted = set().union(*(store.examples_with_tag(db, tag) for tag in filters.tags))
        pairs = [(e, r) for e, r in pairs if e.id in wanted]
    if filters.exclude_tags:
        unwanted = set().union(*(store.examples_with_tag(db, tag) for tag in filters.exclude_tags))
        pairs = [(e, r) for e, r in pairs if e.id not in unwanted]
    return pairs


def _dataset_names(db: Database, dataset_ids: set[int]) -> dict[int, str]:
    return {dataset_id: store.get_dataset(db, dataset_id).name for dataset_id in dataset_ids}

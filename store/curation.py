"""Curation at the dataset level: every change to an example's exclusion, note, tags and
rationale edit, with the run it was made in (`curation_history`).

The current exclusion, note and tags are also kept in `annotations`/`example_tags` (the errors
browser joins them on every page); the current rationale edit is the newest 'rationale' entry of
the example. When two runs disagree on one example, the newest change wins and the older ones
stay in the history, each with its run.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

FIELDS = ("excluded", "note", "tag", "untag", "rationale")


@dataclass(frozen=True)
class CurationChange:
    """One entry of an example's curation history."""

    id: int
    example_id: int
    run_id: int | None  # the run it was made in; None: before provenance was recorded
    field: str
    value: str | None
    rationale_id: int | None
    created_at: str


@dataclass(frozen=True)
class HumanEdit:
    """The rationale a human wrote for an example, used by every run on its dataset."""

    example_id: int
    text: str
    run_id: int | None  # provenance: the run the edit was made in
    rationale_id: int | None  # that run's human version (None once that run was deleted)
    answer: str | None
    answer_rule: str | None
    correct: bool | None


@dataclass(frozen=True)
class CurationSummary:
    """How many examples of a dataset carry each kind of curation (and how many of those were
    last changed in one given run)."""

    excluded: int
    edited: int
    tagged: int
    noted: int

    def describe(self) -> str:
        return (f"{self.excluded} excluded, {self.edited} edited rationale"
                f"{'' if self.edited == 1 else 's'}, {self.tagged} tagged, {self.noted} with a note")


def record_change(db: Database, example_id: int, run_id: int | None, field: str,
                  value: str | None, *, rationale_id: int | None = None,
                  grade: tuple[str | None, str | None, bool | None] = (None, None, None)) -> None:
    """Append one change to the history (inside the caller's write transaction)."""
    if field not in FIELDS:
        raise ValueError(f"unknown curation field {field!r}")
    answer, rule, correct = grade
    db.execute("INSERT INTO curation_history (example_id, run_id, field, value, rationale_id, "
               "answer, answer_rule, correct) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               [example_id, run_id, field, value, rationale_id, answer, rule,
                None if correct is None else int(correct)])


def history(db: Database, example_id: int) -> list[CurationChange]:
    """Every curation change of an example, oldest first."""
    return [CurationChange(*row) for row in db.execute(
        "SELECT id, example_id, run_id, field, value, rationale_id, created_at "
        "FROM curation_history WHERE example_id = ? ORDER BY id", [example_id]).fetchall()]


_EDITS_SQL = (
    "SELECT h.example_id, h.value, h.run_id, h.rationale_id, h.answer, h.answer_rule, h.correct "
    "FROM curation_history h JOIN (SELECT c.example_id, max(c.id) AS id FROM curation_history c "
    " JOIN examples e ON e.id = c.example_id AND e.dataset_id = ? "
    " WHERE c.field = 'rationale' GROUP BY c.example_id) m ON m.id = h.id")


def human_edits(db: Database, dataset_id: int) -> dict[int, HumanEdit]:
    """Per example of the dataset, its newest human rationale edit (from whichever run)."""
    return {row[0]: HumanEdit(row[0], row[1], row[2], row[3], row[4], row[5],
                              None if row[6] is None else bool(row[6]))
            for row in db.execute(_EDITS_SQL, [dataset_id]).fetchall()}


def human_edit(db: Database, example_id: int) -> HumanEdit | None:
    """An example's current human edit, if it has one."""
    dataset = db.execute("SELECT dataset_id FROM examples WHERE id = ?", [example_id]).fetchone()
    return human_edits(db, dataset[0]).get(example_id) if dataset else None


def summary(db: Database, dataset_id: int, run_id: int | None = None) -> CurationSummary:
    """The dataset's current curation, counted per example; with `run_id`, only what was last
    changed in that run (what `--from-run` takes from it)."""
    edits = human_edits(db, dataset_id)
    row = db.execute(
        "SELECT (SELECT count(*) FROM annotations a JOIN examples e ON e.id = a.example_id "
        "  WHERE e.dataset_id = ?1 AND a.excluded = 1 AND (?2 IS NULL OR a.excluded_run_id = ?2)),"
        " (SELECT count(DISTINCT t.example_id) FROM example_tags t JOIN examples e "
        "  ON e.id = t.example_id WHERE e.dataset_id = ?1 AND (?2 IS NULL OR t.run_id = ?2)),"
        " (SELECT count(*) FROM annotations a JOIN examples e ON e.id = a.example_id "
        "  WHERE e.dataset_id = ?1 AND a.note IS NOT NULL AND (?2 IS NULL OR a.note_run_id = ?2))",
        [dataset_id, run_id]).fetchone()
    edited = sum(1 for e in edits.values() if run_id is None or e.run_id == run_id)
    return CurationSummary(excluded=row[0], edited=edited, tagged=row[1], noted=row[2])

"""Rationales: every version of every explanation (gold, teacher initial/refined/hinted, human)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlite_utils import Database

from store.connection import write
from store.curation import record_change
from store.errors import NotFound
from store.models import Rationale

SOURCES = ("gold", "teacher_initial", "teacher_refined", "teacher_hinted", "human")
# Why a teacher output was not kept (`rationales.reject_reason`), in the order the teacher pass
# checks them: the output itself, its grade, then the keep filter's content rules.
REJECT_REASONS = ("failed", "truncated", "not_correct", "no_derivation", "hint_before_derivation",
                  "talks_about_student", "copies_student", "copies_previous")


@dataclass
class NewRationale:
    example_id: int
    run_id: int | None
    iteration: int
    source: str
    text: str
    attempt: int = 0
    status: str = "ok"
    error: str | None = None
    parent_id: int | None = None
    template: str | None = None
    prompt_hash: str | None = None
    cache_key: str | None = None
    answer: str | None = None
    answer_rule: str | None = None
    correct: bool | None = None
    hinted: bool = False
    kept: bool = False
    reject_reason: str | None = None  # one of REJECT_REASONS when not kept


_COLUMNS = ("example_id", "run_id", "iteration", "source", "text", "attempt", "status", "error",
            "parent_id", "template", "prompt_hash", "cache_key", "answer", "answer_rule",
            "correct", "hinted", "kept", "reject_reason")


def _values(r: NewRationale) -> list:
    if r.source not in SOURCES:
        raise ValueError(f"unknown rationale source {r.source!r}")
    if r.status != "failed" and not r.text:
        raise ValueError("an empty rationale can only be stored as a failed row")
    if r.reject_reason is not None and r.reject_reason not in REJECT_REASONS:
        raise ValueError(f"unknown reject reason {r.reject_reason!r}")
    return [getattr(r, column) for column in _COLUMNS]


def add_rationales(db: Database, rationales: Iterable[NewRationale]) -> int:
    """Insert rationales; a row for the same (run, iteration, example, source, attempt) is kept.

    Idempotent on purpose: a resumed pass re-offers rows it may already have written.
    """
    rows = [_values(r) for r in rationales]
    if not rows:
        return 0
    with write(db):
        cursor = db.conn.executemany(
            f"INSERT OR IGNORE INTO rationales ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))})", rows)
        return max(cursor.rowcount, 0)


def add_human_edit(db: Database, parent_id: int, text: str, *, answer: str | None = None,
                   answer_rule: str | None = None, correct: bool | None = None) -> int:
    """Store an edited rationale as a new human version whose parent is the edited one.

    The new version is kept (used for training and exports) and the ones it replaces for that
    example, run and iteration are no longer kept. The edit is also the example's current edit
    at the dataset level (store.curation), with this run as its provenance, so later runs on the
    dataset start from it.
    """
    if not text.strip():
        raise ValueError("an edited rationale cannot be empty")
    parent = get_rationale(db, parent_id)
    with write(db):
        attempt = db.execute(
            "SELECT coalesce(max(attempt), -1) + 1 FROM rationales WHERE run_id IS ? AND "
            "iteration = ? AND example_id = ? AND source = 'human'",
            [parent.run_id, parent.iteration, parent.example_id]).fetchone()[0]
        db.execute("UPDATE rationales SET kept = 0 WHERE run_id IS ? AND iteration = ? AND "
                   "example_id = ?", [parent.run_id, parent.iteration, parent.example_id])
        new_id = db.execute(
            "INSERT INTO rationales (example_id, run_id, iteration, parent_id, source, attempt, "
            "text, answer, answer_rule, correct, kept, template, prompt_hash) "
            "VALUES (?, ?, ?, ?, 'human', ?, ?, ?, ?, ?, 1, NULL, NULL)",
            [parent.example_id, parent.run_id, parent.iteration, parent.id, attempt, text, answer,
             answer_rule, correct]).lastrowid
        record_change(db, parent.example_id, parent.run_id, "rationale", text,
                      rationale_id=new_id, grade=(answer, answer_rule, correct))
        return new_id


def get_rationale(db: Database, rationale_id: int) -> Rationale:
    rows = list(db.query("SELECT * FROM rationales WHERE id = ?", [rationale_id]))
    if not rows:
        raise NotFound(f"no rationale {rationale_id} in this store")
    return Rationale.from_row(rows[0])


def rationales_for_example(db: Database, example_id: int,
                           run_id: int | None = None) -> list[Rationale]:
    """All versions for an example (optionally one run), in the order they were written."""
    sql = "SELECT * FROM rationales WHERE example_id = ?"
    params: list = [example_id]
    if run_id is not None:
        sql += " AND (run_id = ? OR run_id IS NULL)"
        params.append(run_id)
    return [Rationale.from_row(row) for row in db.query(sql + " ORDER BY id", params)]


def rationales_for_iteration(db: Database, run_id: int, iteration: int,
                             kept_only: bool = False) -> list[Rationale]:
    sql = "SELECT * FROM rationales WHERE run_id = ? AND iteration = ?"
    if kept_only:
        sql += " AND kept = 1"
    return [Rationale.from_row(row) for row in db.query(sql + " ORDER BY example_id, id",
                                                        [run_id, iteration])]


def latest_kept_rationales(db: Database, run_id: int, up_to_iteration: int) -> dict[int, Rationale]:
    """Per example, the newest kept rationale of the run at or before `up_to_iteration`.

    A human edit is always the newest version of its iteration, so it wins over the teacher's.
    """
    rows = db.query(
        "SELECT r.* FROM rationales r JOIN (SELECT example_id, max(id) AS id FROM rationales "
        " WHERE run_id = ? AND iteration <= ? AND kept = 1 GROUP BY example_id) m ON m.id = r.id",
        [run_id, up_to_iteration])
    return {row["example_id"]: Rationale.from_row(row) for row in rows}


def teacher_yield(db: Database, run_id: int, iteration: int) -> tuple[int, int]:
    """(kept, attempted) over distinct examples the teacher was asked about in this iteration."""
    row = db.execute(
        "SELECT count(DISTINCT CASE WHEN kept = 1 THEN example_id END), count(DISTINCT example_id)"
        " FROM rationales WHERE run_id = ? AND iteration = ? AND source LIKE 'teacher_%'",
        [run_id, iteration]).fetchone()
    return row[0], row[1]


def rejection_counts(db: Database, run_id: int, iteration: int) -> dict[str, int]:
    """Teacher outputs of this iteration not kept, per reason (REJECT_REASONS order, none = 0).

    Counts outputs, not examples: a retried example can be rejected once per attempt.
    """
    rows = dict(db.execute(
        "SELECT reject_reason, count(*) FROM rationales WHERE run_id = ? AND iteration = ? "
        "AND source LIKE 'teacher_%' AND reject_reason IS NOT NULL GROUP BY reject_reason",
        [run_id, iteration]).fetchall())
    return {reason: rows[reason] for reason in REJECT_REASONS if rows.get(reason)}


def describe_rejections(counts: dict[str, int]) -> str:
    """"not_correct 12, talks_about_student 3" (REJECT_REASONS order; unknown codes last)."""
    order = [r for r in REJECT_REASONS if r in counts] + sorted(set(counts) - set(REJECT_REASONS))
    return ", ".join(f"{reason} {counts[reason]}" for reason in order if counts[reason])

"""Student predictions per run, iteration and split, and what they say across iterations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlite_utils import Database

from store.connection import write
from store.models import Prediction


@dataclass
class NewPrediction:
    run_id: int
    iteration: int
    split: str
    example_id: int
    output: str
    correct: bool
    answer: str | None = None
    answer_rule: str | None = None
    has_answer_line: bool = False
    new_tokens: int | None = None
    flexible_correct: bool | None = None  # with the last-number fallback; None: same as correct
    flexible_answer: str | None = None

    def __post_init__(self):
        if self.flexible_correct is None:
            self.flexible_correct = self.correct
            self.flexible_answer = self.flexible_answer or self.answer


_COLUMNS = ("run_id", "iteration", "split", "example_id", "output", "correct", "answer",
            "answer_rule", "has_answer_line", "new_tokens", "flexible_correct", "flexible_answer")


def add_predictions(db: Database, predictions: Iterable[NewPrediction]) -> int:
    """Insert predictions; one already stored for the same key is kept (resume-safe)."""
    rows = [[getattr(p, c) for c in _COLUMNS] for p in predictions]
    if not rows:
        return 0
    with write(db):
        cursor = db.conn.executemany(
            f"INSERT OR IGNORE INTO predictions ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))})", rows)
        return max(cursor.rowcount, 0)


def predicted_example_ids(db: Database, run_id: int, iteration: int, split: str) -> set[int]:
    """Examples already evaluated, so a resumed evaluation only runs the missing ones."""
    rows = db.execute("SELECT example_id FROM predictions WHERE run_id = ? AND iteration = ? "
                      "AND split = ?", [run_id, iteration, split]).fetchall()
    return {r[0] for r in rows}


def predictions_for(db: Database, run_id: int, iteration: int, split: str) -> list[Prediction]:
    return [Prediction.from_row(row) for row in db.query(
        "SELECT * FROM predictions WHERE run_id = ? AND iteration = ? AND split = ? "
        "ORDER BY example_id", [run_id, iteration, split])]


def predictions_for_example(db: Database, example_id: int, run_id: int) -> list[Prediction]:
    return [Prediction.from_row(row) for row in db.query(
        "SELECT * FROM predictions WHERE example_id = ? AND run_id = ? ORDER BY iteration, split",
        [example_id, run_id])]


@dataclass(frozen=True)
class SplitScore:
    correct: int  # strict: an explicit answer marker with the gold value
    total: int
    with_answer_line: int
    flexible_correct: int = 0  # strict, or else the last number in the output

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None

    @property
    def flexible_accuracy(self) -> float | None:
        return self.flexible_correct / self.total if self.total else None

    @property
    def format_rate(self) -> float | None:
        return self.with_answer_line / self.total if self.total else None


def score(db: Database, run_id: int, iteration: int, split: str) -> SplitScore:
    """Counts over every stored prediction of the split (what an iteration's metrics record);
    `Iteration.scored()` leaves excluded examples out when the iteration is read."""
    row = db.execute(
        "SELECT coalesce(sum(correct), 0), count(*), coalesce(sum(has_answer_line), 0), "
        "coalesce(sum(coalesce(flexible_correct, correct)), 0) FROM predictions WHERE run_id = ? AND iteration = ? AND split = ?",
        [run_id, iteration, split]).fetchone()
    return SplitScore(*row)


@dataclass(frozen=True)
class Transitions:
    """Per-example change between two iterations on one split."""

    fixed: int
    regressed: int
    still_wrong: int
    still_right: int


def transitions(db: Database, run_id: int, split: str, before: int, after: int) -> Transitions:
    return transitions_across(db, split, (run_id, before), (run_id, after))


def excluded_counts(db: Database, run_id: int | None = None) -> dict[tuple[int, int, str],
                                                                      SplitScore]:
    """(run, iteration, split) -> the counts of the predictions of excluded examples, which
    scores leave out (one seek per excluded example and run: cheap next to re-counting a split).
    """
    if not db.execute("SELECT EXISTS (SELECT 1 FROM annotations WHERE excluded = 1)").fetchone()[0]:
        return {}  # the usual case, one probe
    rows = db.execute(
        "SELECT p.run_id, p.iteration, p.split, coalesce(sum(p.correct), 0), count(*), "
        "coalesce(sum(p.has_answer_line), 0), coalesce(sum(coalesce(p.flexible_correct, "
        "p.correct)), 0) FROM annotations a JOIN predictions p INDEXED BY predictions_by_example "
        "ON p.example_id = a.example_id AND (?1 IS NULL OR p.run_id = ?1) WHERE a.excluded = 1 "
        "GROUP BY p.run_id, p.iteration, p.split", [run_id]).fetchall()
    return {(r[0], r[1], r[2]): SplitScore(r[3], r[4], r[5], r[6]) for r in rows}


def transitions_across(db: Database, split: str, before: tuple[int, int],
                       after: tuple[int, int]) -> Transitions:
    """Per-example change from (run, k) `before` to (run, k) `after` on the examples both
    evaluated and not excluded: within a run, or between runs on the same dataset (a baseline,
    a transfer). The stop rule's McNemar pairs come from here."""
    row = db.execute(
        "SELECT coalesce(sum(a.correct = 0 AND b.correct = 1), 0),"
        " coalesce(sum(a.correct = 1 AND b.correct = 0), 0),"
        " coalesce(sum(a.correct = 0 AND b.correct = 0), 0),"
        " coalesce(sum(a.correct = 1 AND b.correct = 1), 0)"
        " FROM predictions a JOIN predictions b ON b.run_id = ? AND b.split = a.split"
        "  AND b.example_id = a.example_id AND b.iteration = ?"
        " WHERE a.run_id = ? AND a.split = ? AND a.iteration = ?"
        " AND NOT EXISTS (SELECT 1 FROM annotations x WHERE x.example_id = a.example_id"
        "  AND x.excluded = 1)",
        [after[0], after[1], before[0], split, before[1]]).fetchone()
    return Transitions(*row)


def changes_by_iteration(db: Database, run_id: int, split: str = "val") -> dict[int, Transitions]:
    """For every evaluated iteration after the first, its per-example change from the one before,
    recomputed from the stored verdicts (so it always follows the current grading)."""
    ks = [r[0] for r in db.execute(
        "SELECT DISTINCT iteration FROM predictions WHERE run_id = ? AND split = ? "
        "ORDER BY iteration", [run_id, split])]
    return {after: transitions(db, run_id, split, before, after)
            for before, after in zip(ks, ks[1:])}


def wrong_example_ids(db: Database, run_id: int, iteration: int, split: str) -> list[int]:
    rows = db.execute("SELECT example_id FROM predictions WHERE run_id = ? AND iteration = ? AND "
                      "split = ? AND correct = 0 ORDER BY example_id",
                      [run_id, iteration, split]).fetchall()
    return [r[0] for r in rows]

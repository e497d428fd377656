"""Transfer runs and their links: the export a transfer trained on, the run that export came from,
and the figures the dashboard compares (source student vs transfer student on the same data, and
one new student on the data of different iterations).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from store.models import ExportRecord, Iteration, Run, SplitCounts
from store.predictions import transitions, transitions_across
from store.runs import get_run, list_iterations
from store.errors import NotFound


@dataclass(frozen=True)
class StudentFigures:
    """One student before (k = 0) and after training on a data set (iteration `k`)."""

    run_id: int
    run_name: str
    kind: str
    student: str | None
    status: str
    k: int | None
    base_val: float | None
    trained_val: float | None
    base_test: float | None
    trained_test: float | None
    train_size: int | None
    base_counts: SplitCounts | None = None  # val, untrained: for intervals
    trained_counts: SplitCounts | None = None  # val, trained
    fixed: int | None = None  # val examples the training fixed / broke (k = 0 -> k)
    regressed: int | None = None


@dataclass(frozen=True)
class TransferLink:
    """A transfer run beside its source: which data, and both students' figures."""

    transfer: StudentFigures  # the transfer run, trained at k = 1
    source: StudentFigures | None  # the source run at the iteration the data came from
    export: ExportRecord | None
    data_iteration: int | None
    source_best_iteration: int | None

    @property
    def data_label(self) -> str:
        """'iteration-1 data' (standard distillation) or 'refined data' (UNDO iterations >= 2)."""
        if self.data_iteration is None:
            return "data of unknown iteration"
        return "iteration-1 data" if self.data_iteration <= 1 else "refined data"


def find_export(db: Database, path: str | Path) -> ExportRecord | None:
    """The newest export recorded at `path` (compared as written and with links resolved)."""
    path = Path(path).expanduser()
    names = {str(path.absolute()), str(path.resolve())}
    rows = list(db.query(
        f"SELECT * FROM exports WHERE path IN ({', '.join('?' * len(names))}) "
        "ORDER BY id DESC LIMIT 1", sorted(names)))
    return ExportRecord.from_row(rows[0]) if rows else None


def get_export(db: Database, export_id: int) -> ExportRecord:
    rows = list(db.query("SELECT * FROM exports WHERE id = ?", [export_id]))
    if not rows:
        raise NotFound(f"no export {export_id} in this store")
    return ExportRecord.from_row(rows[0])


def rationale_examples(db: Database, rationale_ids: Iterable[int]) -> dict[int, int]:
    """{rationale id: example id} for the ids that exist (so copies can link their parents)."""
    ids = sorted({int(i) for i in rationale_ids})
    found: dict[int, int] = {}
    for start in range(0, len(ids), 500):  # stay far below SQLite's bound-parameter limit
        chunk = ids[start:start + 500]
        found.update(db.execute(
            f"SELECT id, example_id FROM rationales WHERE id IN ({', '.join('?' * len(chunk))})",
            chunk).fetchall())
    return found


def figures(db: Database, run: Run, iterations: list[Iteration], k: int | None) -> StudentFigures:
    by_k = {it.k: it for it in iterations}
    base, trained = by_k.get(0), by_k.get(k) if k is not None else None
    change = None
    if base is not None and trained is not None and k:
        change = transitions(db, run.id, "val", 0, k)
    return StudentFigures(
        run.id, run.name, run.kind, run.student, run.status, k,
        base.val_accuracy if base else None, trained.val_accuracy if trained else None,
        base.test_accuracy if base else None, trained.test_accuracy if trained else None,
        trained.train_size if trained else None,
        base.scored("val") if base else None, trained.scored("val") if trained else None,
        change.fixed if change else None, change.regressed if change else None)


@dataclass(frozen=True)
class DataComparison:
    """One new student trained on refined data and on iteration-1 data: the per-example change
    from the second to the first on the same validation examples (for McNemar)."""

    student: str | None
    refined: StudentFigures
    first: StudentFigures
    fixed: int
    regressed: int


def data_comparisons(db: Database, links: list[TransferLink]) -> list[DataComparison]:
    """Per student with both kinds of data, its best transfer run on each, compared."""
    best: dict[str | None, dict[str, StudentFigures]] = {}
    for link in links:
        t = link.transfer
        if t.trained_val is None or link.data_iteration is None:
            continue
        per_label = best.setdefault(t.student, {})
        current = per_label.get(link.data_label)
        if current is None or t.trained_val > current.trained_val:
            per_label[link.data_label] = t
    out = []
    for student, per_label in best.items():
        refined, first = per_label.get("refined data"), per_label.get("iteration-1 data")
        if refined is None or first is None:
            continue
        change = transitions_across(db, "val", (first.run_id, first.k), (refined.run_id, refined.k))
        out.append(DataComparison(student, refined, first, change.fixed, change.regressed))
    return out


def transfer_link(db: Database, run: Run) -> TransferLink:
    """The comparison for one transfer run (its source may have been deleted since)."""
    export = None
    if run.source_export_id is not None:
        try:
            export = get_export(db, run.source_export_id)
        except NotFound:
            export = None
    data_iteration = export.iteration if export else None
    source, best = None, None
    if run.source_run_id is not None:
        try:
            source_run = get_run(db, run.source_run_id)
        except NotFound:
            source_run = None
        if source_run is not None:
            source = figures(db, source_run, list_iterations(db, source_run.id),
                             data_iteration)
            best = source_run.best_iteration
    return TransferLink(figures(db, run, list_iterations(db, run.id), 1), source, export,
                        data_iteration, best)


def transfers_from(db: Database, source_run_id: int) -> list[TransferLink]:
    """Every transfer run trained on data of `source_run_id`: by student, then data iteration,
    so one new student's runs on iteration-1 and refined data sit side by side."""
    runs = [Run.from_row(row) for row in db.query(
        "SELECT * FROM runs WHERE kind = 'transfer' AND source_run_id = ? ORDER BY id",
        [source_run_id])]
    links = [transfer_link(db, run) for run in runs]
    return sorted(links, key=lambda link: (link.transfer.student or "",
                                           link.data_iteration if link.data_iteration is not None
                                           else 1 << 30, link.transfer.run_id))

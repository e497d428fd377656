"""The errors browser's table: its columns, sized to the terminal, and how one BrowseRow becomes
its cells (ext ids cut in the middle, the question given the width the others leave)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding

from store.browse import BrowseFilter, BrowseRow, search_terms
from undo_tui.messages import BrowseOptions
from undo_tui.widgets.fit import SCROLLBAR, Col, cut_middle, fit_columns
from undo_tui.widgets.render import highlight, history_text, one_line, verdict
from undo_tui.widgets.vim_table import VimDataTable

STATUS_LABELS = {"wrong": "wrong at k", "fixed": "fixed", "regressed": "regressed",
                 "still_wrong": "still wrong", "always_right": "always right", "all": "all"}

# What matters most first, so a narrow terminal still shows the verdicts.
COLUMNS = (("id", "id"), ("ext id", "ext"), ("student", "student"), ("history", "history"),
           ("question", "question"), ("gold", "gold"), ("tags", "tags"), ("", "excluded"))
STUDENT_ANSWER = 6  # characters of the student's answer after its ✓/✗
EXCLUDED_MARK = "excl"


class ErrorsTable(VimDataTable):
    BINDINGS = [Binding("enter", "select_cursor", "Open", id="errors_open")]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.widths: dict[str, int] = {}

    def fit(self, rows: list[BrowseRow], iterations: int) -> bool:
        """Size the columns for these rows and this width; True when they changed (the rows
        were cleared and must be added again)."""
        width = (self.size.width or 120) - SCROLLBAR  # a window of rows nearly always scrolls
        self.widths = fit_columns(column_specs(rows, iterations), width)
        return self.set_columns([(label, key, self.widths[key]) for label, key in COLUMNS])


def column_specs(rows: list[BrowseRow], iterations: int) -> list[Col]:
    """Each column's natural width from the rows shown; the question grows into the rest."""
    def widest(values, cap: int) -> int:
        return min(max((len(v) for v in values), default=0), cap)

    return [
        Col("id", "id", widest([str(r.example_id) for r in rows], 9)),
        Col("ext", "ext id", widest([r.ext_id for r in rows], 32), minimum=8),
        Col("student", "student", 2 + widest([r.answer or "—" for r in rows], STUDENT_ANSWER)),
        Col("history", "history", 2 * iterations - 1),
        Col("question", "question", 20, minimum=20, grow=True),
        Col("gold", "gold", widest([one_line(r.gold, 99) for r in rows], 12)),
        Col("tags", "tags", widest([" ".join(r.tags) for r in rows], 20)),
        Col("excluded", "", len(EXCLUDED_MARK)),
    ]


def row_cells(row: BrowseRow, flt: BrowseFilter | None, options: BrowseOptions | None,
              widths: dict[str, int]) -> list:
    """One row's cells, in COLUMNS order."""
    return [cell(row, key, flt, options, widths) for _, key in COLUMNS]


def cell(row: BrowseRow, key: str, flt: BrowseFilter | None, options: BrowseOptions | None,
         widths: dict[str, int]):
    """One cell: the history needs the split's iterations, the question the search's words."""
    width = widths.get(key, 10)
    if key == "id":
        return str(row.example_id)
    if key == "ext":
        return cut_middle(row.ext_id, width)
    if key == "student":
        student = verdict(row.correct)
        student.append(f" {one_line(row.answer or '—', max(1, min(STUDENT_ANSWER, width - 2)))}")
        return student
    if key == "history":
        ks = options.iterations.get(flt.split, []) if options and flt else []
        return history_text(row.history, ks, flt.iteration if flt else None)
    if key == "question":
        words = search_terms(flt.search) if flt and flt.search else []
        return highlight(one_line(row.question, width), words)
    if key == "gold":
        return one_line(row.gold, width)
    if key == "tags":
        return one_line(" ".join(row.tags), width)
    return Text(EXCLUDED_MARK, style="bold yellow") if row.excluded else ""

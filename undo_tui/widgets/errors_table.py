"""The errors browser's table: its columns and how one BrowseRow becomes its cells."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding

from store.browse import BrowseFilter, BrowseRow, search_terms
from undo_tui.messages import BrowseOptions
from undo_tui.widgets.render import highlight, history_text, one_line, verdict
from undo_tui.widgets.vim_table import VimDataTable

STATUS_LABELS = {"wrong": "wrong at k", "fixed": "fixed", "regressed": "regressed",
                 "still_wrong": "still wrong", "always_right": "always right", "all": "all"}

# What matters most first, so a narrow terminal still shows the verdicts.
COLUMNS = (("id", "id", 7), ("ext id", "ext", 10), ("student", "student", 9),
           ("history", "history", 11), ("question", "question", 44), ("gold", "gold", 7),
           ("tags", "tags", 10), ("", "excluded", 4))


class ErrorsTable(VimDataTable):
    BINDINGS = [Binding("enter", "select_cursor", "Open", id="errors_open")]

    def add_columns_for_rows(self) -> None:
        """The browser's columns, keyed so cells can be updated in place."""
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)


def row_cells(row: BrowseRow, flt: BrowseFilter | None, options: BrowseOptions | None) -> list:
    """One row's cells, in COLUMNS order."""
    return [cell(row, key, flt, options) for _, key, _ in COLUMNS]


def cell(row: BrowseRow, key: str, flt: BrowseFilter | None, options: BrowseOptions | None):
    """One cell: the history needs the split's iterations, the question the search's words."""
    if key == "id":
        return str(row.example_id)
    if key == "ext":
        return one_line(row.ext_id, 10)
    if key == "student":
        student = verdict(row.correct)
        student.append(f" {one_line(row.answer or '—', 6)}")
        return student
    if key == "history":
        ks = options.iterations.get(flt.split, []) if options and flt else []
        return history_text(row.history, ks, flt.iteration if flt else None)
    if key == "question":
        words = search_terms(flt.search) if flt and flt.search else []
        return highlight(one_line(row.question, 44), words)
    if key == "gold":
        return one_line(row.gold, 7)
    if key == "tags":
        return one_line(" ".join(row.tags), 10)
    return Text("excl", style="bold yellow") if row.excluded else ""

"""The runs table: one row per run, its columns sized to the terminal (widgets/fit): names and
models cut in the middle, and on a narrow terminal dataset, student and teacher left out before
the iterations, best validation accuracy or progress would be."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding

from store.models import Event, RunSummary
from store.processes import ACTIVE_STATUSES, INTERRUPTED
from undo_tui.widgets.fit import SCROLLBAR, Col, cut_middle, fit_columns
from undo_tui.widgets.render import accuracy_cell, model_label, one_line, pct
from undo_tui.progress_text import progress_numbers
from undo_tui.widgets.vim_table import VimDataTable

STATUS_STYLES = {"running": "bold green", "stopping": "bold yellow", "failed": "bold red",
                 "stopped": "yellow", "created": "dim", "finished": "",
                 INTERRUPTED: "bold yellow"}
COLUMNS = (("#", "id"), ("name", "name"), ("status", "status"), ("teacher", "teacher"),
           ("student", "student"), ("dataset", "dataset"), ("iters", "iters"),
           ("best val", "best"), ("progress", "progress"))
UNCUT = 10_000


class RunsTable(VimDataTable):
    BINDINGS = [Binding("enter", "select_cursor", "Open", id="runs_open")]

    def fit(self, rows: list[dict[str, Text]]) -> dict[str, int]:
        """Size the columns for these (uncut) rows; the rows are to be added again when the
        columns changed (self.column_spec tells)."""
        width = self.size.width or 120
        if len(rows) > self.size.height - 1:  # rows below the header: a scrollbar shows
            width -= SCROLLBAR
        widths = fit_columns(column_specs(rows), width)
        self.set_columns([(label, key, widths[key]) for label, key in COLUMNS if key in widths])
        return widths


def column_specs(rows: list[dict[str, Text]]) -> list[Col]:
    def natural(key: str) -> int:
        return max((row[key].cell_len for row in rows), default=0)

    return [Col("id", "#", natural("id")), Col("name", "name", natural("name"), minimum=12),
            Col("status", "status", natural("status"), minimum=8),
            Col("teacher", "teacher", natural("teacher"), minimum=10, give=1, drop=3),
            Col("student", "student", natural("student"), minimum=10, give=1, drop=2),
            Col("dataset", "dataset", natural("dataset"), minimum=8, give=1, drop=1),
            Col("iters", "iters", natural("iters")), Col("best", "best val", natural("best")),
            Col("progress", "progress", natural("progress"), minimum=12, give=2)]


def current_stage(summary: RunSummary) -> str | None:
    stage = summary.run.stage
    return stage.split(" ", 1)[0] if stage else None


def run_tag(run) -> str:
    """The kind when the name does not say it; a transfer also names its source run."""
    if run.kind == "transfer" and run.source_run_id is not None:
        return f"transfer←{run.source_run_id}"
    return run.kind if run.kind != "undo" and run.kind not in run.name else ""


def run_row(summary: RunSummary, progress: dict[str, Event], alive: bool | None,
            widths: dict[str, int] | None = None) -> dict[str, Text]:
    """A run's cells by column key, cut to `widths` (uncut without them)."""
    def width(key: str) -> int:
        return widths.get(key, UNCUT) if widths else UNCUT

    run = summary.run
    shown = INTERRUPTED if alive is False else run.status  # the engine process is gone
    status = Text(shown, style=STATUS_STYLES.get(shown, ""))
    if run.stop_requested and run.status == "running":
        status.append(" (stop asked)", style="yellow")
    tag = run_tag(run)
    name = Text(cut_middle(run.name, max(4, width("name") - len(tag) - 1) if tag else
                           width("name")))
    if tag:
        name.append(f" {tag}", style="dim italic")
    return {
        "id": Text(str(run.id)), "name": name, "status": status,
        "teacher": Text(cut_middle(model_label(run.teacher, UNCUT), width("teacher"))),
        "student": Text(cut_middle(model_label(run.student, UNCUT), width("student"))),
        "dataset": Text(cut_middle(summary.dataset_name or "—", width("dataset"))),
        "iters": Text(str(summary.iterations)), "best": best_cell(summary),
        "progress": progress_cell(summary, progress, alive, width("progress")),
    }


def best_cell(summary: RunSummary) -> Text:
    """The best iteration's strict validation accuracy with its 95% interval (n in the hint)."""
    if summary.best_val_total:
        return accuracy_cell(summary.best_val_correct, summary.best_val_total)
    return Text(pct(summary.best_val_accuracy))


def progress_cell(summary: RunSummary, progress: dict[str, Event], alive: bool | None,
                  width: int = UNCUT) -> Text:
    """A compact cell: 'train 25%' for an active run, the stop reason or error otherwise."""
    run = summary.run
    if run.status not in ACTIVE_STATUSES:
        if run.status == "failed" and run.error:
            return Text(one_line(run.error, width), style="red")
        return Text(one_line(run.stop_reason or "", width), style="dim")
    if alive is False:
        return Text("r resumes", style="yellow")
    stage = current_stage(summary)
    event = progress.get(stage) if stage else None
    if event is None:
        return Text(stage or "starting", style="green")
    done, total = progress_numbers(event)
    if not total:
        return Text(stage, style="green")
    return Text(f"{stage} {100 * min(done or 0, total) // total}%", style="green")

"""A Training Wheels sweep: quality against teacher use (a line per policy, intervals as bars),
the table of points, and (enter) the outputs of a point with the teacher's tokens highlighted.
Follows a running sweep live."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

import store
from store import wheels as store_wheels
from store.models import Event, Run
from undo_tui.screens.base import BaseScreen
from undo_tui.progress_text import progress_detail
from undo_tui.widgets.sweep_plot import SweepPlot
from undo_tui.widgets.vim_table import VimDataTable

STYLES = Path(__file__).resolve().parents[1] / "styles"


@dataclass(frozen=True)
class SweepData:
    run: Run
    dataset: str | None
    points: list[store_wheels.Point]
    student: str | None
    distill: dict = field(default_factory=dict)
    progress: Event | None = None


class SweepLoaded(Message):
    def __init__(self, data: SweepData) -> None:
        super().__init__()
        self.data = data


class PointsTable(VimDataTable):
    BINDINGS = [Binding("enter", "select_cursor", "Outputs", id="sweep_outputs")]


COLUMNS = (("point", 15), ("target", 7), ("teacher wrote", 13), ("quality [95%] n", 24),
           ("asks/seq", 8), ("teacher read", 12), ("calls/seq", 9), ("tok/s", 6),
           ("over budget", 11))


def point_cells(point: store_wheels.Point) -> list:
    from engine.wheels.report import format_quality, teacher_use  # only once a sweep is shown

    if point.status != "done":
        return [point.label, _target(point), Text("pending", style="dim"), "", "", "", "", "", ""]
    if point.policy == "speculative":
        wrote = Text(f"{teacher_use(point):.1f}% passes", style="italic")
    else:
        wrote = f"{100 * (point.realised_share or 0):.1f}%"
    calls = (point.teacher_forwards if point.policy == "speculative" else point.teacher_calls) or 0
    asks = point.asks_per_sequence
    return [point.label, _target(point), wrote, format_quality(point),
            "—" if asks is None else f"{asks:.1f}", f"{point.teacher_tokens:,}",
            f"{calls / point.n:.1f}" if point.n else "", f"{point.tokens_per_s or 0:.0f}",
            str(point.violations or 0)]


def _target(point: store_wheels.Point) -> str:
    return "—" if point.policy in ("student", "teacher", "speculative") else f"{point.budget:g}%"


class SweepScreen(BaseScreen):
    HELP_SCOPE = "Sweep"
    CSS_PATH = STYLES / "wheels.tcss"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="sweep_back"),
        Binding("ctrl+r", "refresh", "Refresh", id="sweep_refresh", show=False),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.data: SweepData | None = None
        self.loads = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="sweep-title", classes="screen-title")
        with Horizontal(id="sweep-middle"):
            yield SweepPlot(id="sweep-plot")
        yield PointsTable(id="sweep-points")
        yield Static("", id="sweep-hint", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Sweep — run {self.run_id}"
        table = self.query_one(PointsTable)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        table.focus()
        self.load()
        self.set_interval(self.app.poll_interval, self._poll)

    def _poll(self) -> None:
        if self.is_current and self.data is not None and \
                self.data.run.status in store.runs.ACTIVE_STATUSES:
            self.load()

    def action_refresh(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="sweep", exit_on_error=False, name="loading a sweep")
    def load(self) -> None:
        db = self.db()
        run = store.get_run(db, self.run_id)
        dataset = store.get_dataset(db, run.dataset_id).name if run.dataset_id else None
        student, distill = store_wheels.get_distill(db, self.run_id)
        progress = store.latest_progress(db, self.run_id)
        live = max(progress.values(), key=lambda e: e.id) if progress else None
        self.post_message(SweepLoaded(SweepData(run, dataset, store_wheels.list_points(db, self.run_id),
                                                student, distill, live)))

    def on_sweep_loaded(self, message: SweepLoaded) -> None:
        data = self.data = message.data
        self.loads += 1
        self.query_one(SweepPlot).show(data.points)
        table = self.query_one(PointsTable)
        row = table.cursor_row
        table.clear()
        for point in data.points:
            table.add_row(*point_cells(point), key=str(point.id))
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)
        self.query_one("#sweep-title", Static).update(self._title(data))
        self.query_one("#sweep-hint", Static).update(Text(
            "enter: the point's outputs, teacher tokens highlighted (c there: one example "
            "across policies) · ctrl+r: refresh · esc: back · ?: all keys", style="dim"))

    def _title(self, data: SweepData) -> Text:
        run = data.run
        done = sum(p.status == "done" for p in data.points)
        text = Text(f"run {run.id} {run.name}", style="bold")
        text.append(f" · {run.status} · {done}/{len(data.points)} points · dataset "
                    f"{data.dataset or '—'} · teacher {run.teacher}\n")
        from engine.wheels.report import distill_summary

        how = distill_summary(data.distill)
        text.append(f"student {data.student or run.student}")
        if how:
            text.append(f" ({how})", style="dim")
        if run.status in store.runs.ACTIVE_STATUSES and data.progress is not None:
            text.append(f"\n{run.stage or ''}: {progress_detail(data.progress)}", style="green")
        if run.status == "failed" and run.error:
            text.append(f"\nfailed: {run.error}", style="red")
        return text

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        point = next((p for p in self.data.points if str(p.id) == event.row_key.value), None)
        if point is None:
            return
        if point.status != "done":
            self.notify(f"{point.label} has not been measured yet", severity="warning")
            return
        from undo_tui.screens.sweep_outputs import SweepOutputsScreen

        self.app.push_screen(SweepOutputsScreen(self.run_id, point, self.data.points))

"""Runs: every run in the store with its status and live progress; start, resume, stop, delete."""

from __future__ import annotations

import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

import store
from store.models import Event, RunSummary
from store.processes import ACTIVE_STATUSES, resume_hint
from undo_tui import engine_control
from undo_tui.messages import EngineLaunched, RunsData, RunsLoaded, Saved, WorkFailed
from undo_tui.screens.base import BaseScreen
from undo_tui.screens.dialogs import ConfirmDialog, InputDialog
from undo_tui.widgets.path_suggester import PathSuggester
from undo_tui.widgets.render import one_line, run_outcome
from undo_tui.widgets.runs_table import RunsTable, current_stage, run_row
from undo_tui.progress_text import progress_detail, progress_numbers

IDLE_POLL_S = 5.0


def mini_bar(done: int | None, total: int | None, width: int = 10) -> str:
    if not total:
        return ""
    filled = round(width * min(done or 0, total) / total)
    return "▰" * filled + "▱" * (width - filled)


def progress_line(summary: RunSummary, progress: dict[str, Event], alive: bool | None) -> Text:
    """One full line per active run under the table: stage, bar, counts, loss, ETA."""
    run = summary.run
    text = Text(f"run {run.id} {one_line(run.name, 24)}: ", style="bold")
    if alive is False:
        text.append(f"interrupted: its engine process (pid {run.pid}) is gone; press r to "
                    f"resume it (`{resume_hint(run.id)}`)", style="yellow")
        return text
    stage = current_stage(summary)
    event = progress.get(stage) if stage else None
    text.append(run.stage or "starting", style="green")
    if run.status == "stopping":
        text.append(" (stopping)", style="yellow")
    if event is not None:
        done, total = progress_numbers(event)
        if total:
            text.append(f"  {mini_bar(done, total, 20)} ")
        text.append(progress_detail(event), style="dim")
    return text


class RunsScreen(BaseScreen):
    HELP_SCOPE = "Runs"
    BINDINGS = [
        Binding("e", "errors", "Errors", id="runs_errors"),
        Binding("n", "new_run", "New run", id="runs_new"),
        Binding("r", "resume", "Resume", id="runs_resume"),
        Binding("s", "stop", "Stop", id="runs_stop"),
        Binding("d", "delete", "Delete", id="runs_delete"),
        Binding("x", "export", "Export", id="runs_export"),
        Binding("w", "sweep", "Sweep", id="runs_sweep"),
        Binding("ctrl+r", "refresh", "Refresh", id="runs_refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: RunsData | None = None
        self.summaries: dict[str, RunSummary] = {}
        self.last_load = 0.0
        self.loads = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="runs-title", classes="screen-title")
        yield RunsTable(id="runs-table")
        yield Static("", id="runs-live")
        yield Static("", id="runs-hint", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Runs — {self.store_path.name}"
        table = self.query_one(RunsTable)
        table.fit([])
        table.focus()
        self.load()
        self.set_interval(self.app.poll_interval, self._poll)

    def on_screen_resume(self) -> None:
        if self.data is not None:
            self.load()

    # -- loading ------------------------------------------------------------------------------

    def _poll(self) -> None:
        if not self.is_current:
            return
        busy = self.data is not None and any(
            s.run.status in ACTIVE_STATUSES for s in self.data.runs)
        if busy or time.monotonic() - self.last_load >= IDLE_POLL_S:
            self.load()

    def action_refresh(self) -> None:
        self.load()

    def load(self) -> None:
        self.last_load = time.monotonic()
        self._load()

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False, name="loading runs")
    def _load(self) -> None:
        db = self.db()
        runs = store.list_runs(db)
        progress, alive = {}, {}
        for summary in runs:
            run = summary.run
            if run.status in ACTIVE_STATUSES:
                progress[run.id] = store.latest_progress(db, run.id)
                alive[run.id] = engine_control.run_alive(run) if run.pid else None
        datasets = len(store.list_datasets(db)) if not runs else -1
        self.post_message(RunsLoaded(RunsData(runs, progress, alive, datasets)))

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        data = message.data
        self.data = data
        self.loads += 1
        self.summaries = {str(summary.run.id): summary for summary in data.runs}
        self._fill_table(data)
        count = len(data.runs)
        active = sum(1 for s in data.runs if s.run.status in ACTIVE_STATUSES)
        self.query_one("#runs-title", Static).update(
            f"{count} run{'s' if count != 1 else ''}" + (f" · {active} active" if active else ""))
        live = [progress_line(s, data.progress.get(s.run.id, {}), data.alive.get(s.run.id))
                for s in data.runs if s.run.status in ACTIVE_STATUSES]
        live_widget = self.query_one("#runs-live", Static)
        live_widget.display = bool(live)
        live_widget.update(Text("\n").join(live) if live else "")
        self._hint()

    def _fill_table(self, data: RunsData) -> None:
        """The rows, in columns fitted to them and to the terminal; untouched when unchanged."""
        table = self.query_one(RunsTable)
        selected = self._cursor_key()
        states = [(s, data.progress.get(s.run.id, {}), data.alive.get(s.run.id))
                  for s in data.runs]
        widths = table.fit([run_row(*state) for state in states])
        rows = [(str(state[0].run.id), run_row(*state, widths)) for state in states]
        signature = (table.column_spec,
                     [(k, [str(c) for c in cells.values()]) for k, cells in rows])
        if signature == getattr(self, "_signature", None):
            return
        self._signature = signature
        table.clear()
        for key, cells in rows:
            table.add_row(*(cells[k] for k in widths), key=key)
        if selected in self.summaries:
            table.move_cursor(row=table.get_row_index(selected), animate=False)

    def on_vim_data_table_width_changed(self, event) -> None:
        if self.data is not None:
            self._fill_table(self.data)

    def _hint(self) -> None:
        """Keys, and the highlighted run's whole stop reason or error (cut short in its row)."""
        hint = self.query_one("#runs-hint", Static)
        if self.data is None or not self.data.runs:
            hint.update("No runs yet. Press n to start one from a config file (TOML), or run "
                        "`undo-tui run CONFIG` in a terminal; it appears here as it starts.")
            return
        text = Text()
        key = self._cursor_key()
        summary = self.summaries.get(key) if key else None
        run = summary.run if summary else None
        if run is not None and run.status == "failed" and run.error:
            text.append(f"run {run.id} failed: {one_line(run.error, 300)}\n", style="red")
        elif run is not None and run.stop_reason and run.status not in ACTIVE_STATUSES:
            text.append(f"run {run.id} {run_outcome(run.status, run.stop_reason)}\n")
        if summary is not None and summary.best_val_total:
            from engine.grading.stats import format_accuracy

            text.append(f"best iteration {run.best_iteration}: strict validation accuracy "
                        + format_accuracy(summary.best_val_correct, summary.best_val_total,
                                          excluded=summary.best_val_excluded)
                        + (" (not beyond the untrained student)"
                           if run.best_beats_base is False else "") + "\n")
        text.append("enter: dashboard · e: errors browser · w: sweep · n: new run · r: resume · "
                    "s: stop · d: delete · ?: all keys", style="dim")
        hint.update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.data is not None:
            self._hint()

    def _cursor_key(self) -> str | None:
        table = self.query_one(RunsTable)
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None

    def selected(self) -> RunSummary | None:
        key = self._cursor_key()
        summary = self.summaries.get(key) if key else None
        if summary is None:
            self.notify("No run selected", severity="warning")
        return summary

    # -- actions ------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        summary = self.summaries.get(event.row_key.value)
        if summary is not None and summary.run.kind == "wheels":
            self.action_sweep()
        elif summary is not None and summary.run.kind == "distill":
            from undo_tui.screens.distill import DistillScreen

            self.app.push_screen(DistillScreen(summary.run.id))
        elif summary is not None and summary.run.kind == "ask":
            from undo_tui.screens.ask import AskScreen

            self.app.push_screen(AskScreen(summary.run.id))
        elif summary is not None:
            self.app.open_dashboard(summary.run.id)

    def action_sweep(self) -> None:
        """A Training Wheels sweep's plot, points and outputs."""
        summary = self.selected()
        if summary is None:
            return
        if summary.run.kind != "wheels":
            self.notify(f"run {summary.run.id} is not a Training Wheels sweep (kind "
                        f"{summary.run.kind})", severity="warning")
            return
        from undo_tui.screens.sweep import SweepScreen

        self.app.push_screen(SweepScreen(summary.run.id))

    def action_errors(self) -> None:
        summary = self.selected()
        if summary:
            self.app.open_errors(summary.run.id)

    def action_export(self) -> None:
        summary = self.selected()
        if summary:
            self.app.open_export(summary.run.id)

    def action_new_run(self) -> None:
        def check(value: str) -> str | None:
            try:
                engine_control.validate_config(value)
            except store.UndoError as exc:
                return str(exc)
            return None

        def submitted(value: str | None) -> None:
            if value:
                self.start_run(value)

        self.app.push_screen(InputDialog(
            "Start a new run", "Run configuration file (TOML), starting in the folder of the "
            "shipped configs. The engine runs in the background and keeps running when you quit.",
            value=engine_control.config_dialog_start(), placeholder="path/to/run.toml",
            suggester=PathSuggester((".toml",)), check=check), submitted)

    @work(thread=True, exit_on_error=False, name="starting a run")
    def start_run(self, config_path: str) -> None:
        launched = engine_control.start_run(self.store_path, config_path,
                                            python=self.app.engine_python)
        self.post_message(EngineLaunched(launched.pid, launched.log_path, launched.argv))
        self.report_refusal(launched, "Run not started")

    def action_resume(self) -> None:
        summary = self.selected()
        if not summary:
            return
        alive = engine_control.run_alive(summary.run)
        ok, why = engine_control.can_resume(summary.run, alive)
        if not ok:
            self.notify(why, severity="warning")
            return
        self.resume_run(summary.run.id)

    @work(thread=True, exit_on_error=False, name="resuming a run")
    def resume_run(self, run_id: int) -> None:
        try:
            launched = engine_control.resume_checked(self.db(), self.store_path, run_id,
                                                     python=self.app.engine_python)
        except store.UndoError as exc:
            self.post_message(WorkFailed("Not resumed", str(exc)))
            return
        self.post_message(EngineLaunched(launched.pid, launched.log_path, launched.argv))
        self.report_refusal(launched, "Not resumed")

    def on_engine_launched(self, message: EngineLaunched) -> None:
        self.notify(f"Engine started in the background (pid {message.pid}); it keeps running "
                    f"if you quit. Log: {message.log_path}", title="Run launched", timeout=10)
        self.load()

    def action_stop(self) -> None:
        summary = self.selected()
        if not summary:
            return
        refusal = store.why_not_stoppable(summary.run)
        if refusal:
            self.notify(refusal, severity="warning")
            return
        self.stop_run(summary.run.id)

    @work(thread=True, exit_on_error=False, name="requesting a stop")
    def stop_run(self, run_id: int) -> None:
        engine_control.stop_run(self.db(), run_id)
        self.post_message(Saved("stop", f"Stop requested for run {run_id}: the engine stops at "
                                        "its next check and can be resumed later.", run_id))

    def action_delete(self) -> None:
        summary = self.selected()
        if not summary:
            return
        run = summary.run
        if run.status in ACTIVE_STATUSES and engine_control.run_alive(run):
            self.notify(f"run {run.id} is running: stop it (s) before deleting it",
                        severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete_run(run.id)

        self.app.push_screen(ConfirmDialog(
            "Delete run?",
            f"Delete run {run.id} “{run.name}” with its {summary.iterations} iteration(s), "
            "rationales, predictions and events? Teacher cache entries stay. This cannot be "
            "undone.", confirm_label="Delete", danger=True), answered)

    @work(thread=True, exit_on_error=False, name="deleting a run")
    def delete_run(self, run_id: int) -> None:
        store.delete_run(self.db(), run_id)
        self.post_message(Saved("delete", f"Run {run_id} deleted.", run_id))

    def on_saved(self, message: Saved) -> None:
        self.notify(message.text)
        self.load()

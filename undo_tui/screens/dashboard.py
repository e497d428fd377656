"""Run dashboard: iterations table, accuracy plot (with the equal-budget baseline), the transfer
comparison (source vs transfer student; refined vs iteration-1 data), the current stage's progress
bars, a teacher-quality note and a tail of the run's log; live while it runs."""

from __future__ import annotations

import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Static

import store
from store.models import Event, Iteration
from store.processes import ACTIVE_STATUSES, INTERRUPTED, resume_hint
from store.runs import STOPPABLE_STATUSES
from store.transfers import data_comparisons, transfer_link, transfers_from
from undo_tui import engine_control
from undo_tui.messages import (DashboardData, DashboardLoaded, EngineLaunched, ModelExported,
                               Saved, TransitionCounts, WorkFailed)
from undo_tui.screens.base import BaseScreen
from undo_tui.widgets.render import (accuracy_cell, change_cell, count, duration, model_label,
                                     one_line, pct)
from undo_tui.widgets.stage_progress import StageProgress
from undo_tui.widgets.transfer_panel import TransferPanel
from undo_tui.widgets.vim_table import VimDataTable, VimLog

LOW_YIELD = 0.20
LOG_KINDS = ("log", "error", "stage")
LOG_LINES = 200


def teacher_quality_note(iterations: list[Iteration], live: Event | None = None) -> Text:
    """What the teacher's yield (kept / attempted) means for this run, in a sentence or two,
    and per iteration the outputs not kept per reason (what the keep filter rejected);
    `live`: the running teacher pass's progress (its yield is recorded when it ends)."""
    tried = [it for it in iterations if it.k > 0 and it.teacher_attempted]
    if not tried:
        return live_teacher_note(live) or Text("Teacher quality: no teacher pass recorded yet.",
                                               style="dim")
    kept = sum(it.teacher_kept or 0 for it in tried)
    attempted = sum(it.teacher_attempted for it in tried)
    latest = tried[-1]
    overall = kept / attempted
    text = Text("Teacher yield: ", style="bold")
    text.append(f"{pct(overall, 0)} of {attempted} attempts kept "
                f"(iteration {latest.k}: {pct(latest.teacher_yield, 0)}). ")
    refined = [it for it in tried if it.k >= 2]
    low = (refined[-1].teacher_yield if refined else latest.teacher_yield) or 0.0
    if low < LOW_YIELD:
        text.append("Low: ", style="bold yellow")
        text.append("a weak teacher limits what refinement can do: few refined rationales "
                    "reach the gold answer, so there is little to train on. Fix: point the "
                    "config's [teacher] at a stronger model (an OpenAI-compatible URL or a "
                    "larger GGUF).", style="yellow")
    else:
        text.append("The teacher corrects enough of its rationales for refinement to have "
                    "material to train on.", style="dim")
    for it in tried:
        rejected = it.metrics.get("teacher_rejected")
        if rejected:
            text.append(f"\nNot kept (k={it.k}): ", style="bold")
            text.append(store.describe_rejections(rejected))
    return text


def live_teacher_note(live: Event | None) -> Text | None:
    """'kept 3 of 12 so far' while the first teacher pass runs, from its progress event."""
    data = (live.data or {}) if live is not None else {}
    if data.get("kept") is None:
        return None
    attempted = data.get("attempted")
    of = f" of {attempted} examples tried" if attempted is not None else ""
    return Text(f"Teacher yield: pass in progress (iteration {live.iteration}): kept "
                f"{data['kept']}{of} so far; the yield is recorded when the pass ends.",
                style="dim")


def format_note(iterations: list[Iteration], format_rates: dict[int, float]) -> Text | None:
    """Warn when answer-format compliance rose much more than accuracy (format, not skill)."""
    scored = [it for it in iterations if it.val_accuracy is not None and it.k in format_rates]
    if len(scored) < 2:
        return None
    first, last = scored[0], scored[-1]
    format_gain = format_rates[last.k] - format_rates[first.k]
    accuracy_gain = last.val_accuracy - first.val_accuracy
    if format_gain > 0.2 and accuracy_gain < format_gain / 2:
        return Text(f"Format: answer-line compliance rose {format_gain * 100:+.0f} points but "
                    f"accuracy only {accuracy_gain * 100:+.1f}: much of the change is output "
                    "format, not reasoning. Check fixed/regressed counts.", style="yellow")
    return None


def best_beats_base(data: DashboardData, alpha: float) -> bool:
    """Whether the best iteration may be called best: it beat the untrained student by the run's
    rule (recorded by the engine; judged by significance for runs decided before that)."""
    from engine.grading.stats import beats_base

    if data.best_vs_base is None:
        return data.run.best_beats_base is not False
    return beats_base(data.run.best_beats_base, data.best_vs_base.fixed,
                      data.best_vs_base.regressed, alpha)


def baseline_summary(data: DashboardData, alpha: float) -> Text:
    """The equal-budget baseline at the best iteration's k, and whether UNDO beat it (McNemar on
    the same validation examples)."""
    from engine.grading.stats import compare, format_p

    text = Text()
    if data.baseline is None:
        return text
    text.append(f"\nbaseline {data.baseline.run.name}")
    same_k = next((b for b in data.baseline_iterations
                   if b.k == data.run.best_iteration and b.scored("val")), None)
    if same_k is None:
        return text.append(f": {pct(data.baseline.best_val_accuracy)}")
    counts = same_k.scored("val")
    text.append(f" at k={same_k.k}: ")
    text.append_text(accuracy_cell(counts.correct, counts.total))
    if data.baseline_change is not None:
        change = compare(data.baseline_change.fixed, data.baseline_change.regressed, alpha)
        text.append(f", UNDO +{change.fixed}/−{change.regressed} {format_p(change.p_value)} "
                    f"({change.verdict()})", style="bold" if change.significant else "dim")
    return text


def best_summary(data: DashboardData, alpha: float) -> Text:
    """The best iteration, said only as strongly as the statistics allow, and the noise floor."""
    from engine.grading.stats import compare, format_p, smallest_detectable_points

    run, text = data.run, Text()
    if run.best_iteration is not None:
        vs_base = data.best_vs_base
        if vs_base is None:
            text.append(f"best iteration {run.best_iteration}", style="bold")
        else:
            comparison = compare(vs_base.fixed, vs_base.regressed, alpha)
            if best_beats_base(data, alpha):
                text.append(f"best iteration {run.best_iteration} "
                            f"(vs untrained: {format_p(comparison.p_value)})", style="bold")
            else:
                text.append(f"no iteration beats the untrained student beyond noise "
                            f"(best trained {run.best_iteration}: +{comparison.fixed}/"
                            f"−{comparison.regressed}, {format_p(comparison.p_value)})",
                            style="bold yellow")
    val = next((it.scored("val") for it in data.iterations if it.scored("val")), None)
    if val is not None:
        text.append(f"{'  ·  ' if text.plain else ''}validation n={val.total}"
                    + (f", {val.excluded} excluded" if val.excluded else ""), style="dim")
        points = smallest_detectable_points(val.total, alpha)
        if points is not None and points > 2:
            text.append(f": changes under {points:.1f} points cannot be told from noise",
                        style="yellow")
    return text


class IterationsTable(VimDataTable):
    BINDINGS = [Binding("enter", "select_cursor", "Errors at k", id="dash_open_iteration")]


class DashboardScreen(BaseScreen):
    HELP_SCOPE = "Run dashboard"
    BINDINGS = [
        Binding("e", "errors", "Errors", id="dash_errors"),
        Binding("s", "stop", "Stop", id="dash_stop"),
        Binding("r", "resume", "Resume", id="dash_resume"),
        Binding("x", "export", "Export", id="dash_export"),
        Binding("t", "transfer", "Transfer", id="dash_transfer"),
        Binding("m", "export_model", "Model", id="dash_export_model"),
        Binding("l", "focus_log", "Log", id="dash_log"),
        Binding("escape", "back", "Back", id="dash_back"),
        Binding("ctrl+r", "refresh", "Refresh", id="dash_refresh", show=False),
    ]

    COLUMNS = (("k", "k"), ("status", "status"), ("train n", "train"), ("kept", "kept"),
               ("val strict [95%]", "val"), ("Δ val", "delta"), ("flexible", "flexible"),
               ("test strict [95%]", "test"), ("format", "format"),
               ("fixed/regr", "transitions"), ("mean loss", "loss"), ("wall", "wall"),
               ("tokens", "tokens"), ("cost", "cost"))

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.data: DashboardData | None = None
        self.last_event_id = 0
        self.last_load = 0.0
        self.loads = 0
        self.exporting_model = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="dash-summary", classes="screen-title")
        yield IterationsTable(id="iterations")
        yield TransferPanel("", id="transfer-panel")
        with Horizontal(id="dash-middle"):
            from undo_tui.widgets.accuracy_plot import AccuracyPlot

            yield AccuracyPlot(id="accuracy-plot")
            with Vertical(id="dash-stage"):
                yield Static("", id="stage-title")
                yield StageProgress("teacher", id="stage-teacher", classes="stage")
                yield StageProgress("train", id="stage-train", classes="stage")
                yield StageProgress("evaluate", id="stage-evaluate", classes="stage")
                yield Static("", id="quality-note")
                yield Static("", id="format-note")
        yield VimLog(id="log-tail", wrap=True, markup=False, highlight=False, max_lines=LOG_LINES)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Run {self.run_id}"
        table = self.query_one(IterationsTable)
        for label, key in self.COLUMNS:
            table.add_column(label, key=key)
        table.focus()
        self.query_one("#log-tail", VimLog).border_title = "log"
        self.load()
        self.set_interval(self.app.poll_interval, self._poll)

    def _poll(self) -> None:
        if not self.is_current or self.data is None:
            return
        if self.data.run.status in STOPPABLE_STATUSES or \
                time.monotonic() - self.last_load >= 5.0:
            self.load()

    def action_refresh(self) -> None:
        self.load()

    def load(self) -> None:
        self.last_load = time.monotonic()
        self._load()

    @work(thread=True, exclusive=True, group="dashboard", exit_on_error=False,
          name="loading the run")
    def _load(self) -> None:
        db = self.db()
        run = store.get_run(db, self.run_id)
        iterations = store.list_iterations(db, self.run_id)
        transitions: dict[int, TransitionCounts] = {}
        format_rates: dict[int, float] = {}
        done = [it.k for it in iterations if it.val_accuracy is not None]
        for it in iterations:
            val_format = it.metrics.get("val_format") if it.metrics else None
            if val_format is not None:
                format_rates[it.k] = float(val_format)
            elif it.val_accuracy is not None:
                rate = store.score(db, self.run_id, it.k, "val").format_rate
                if rate is not None:
                    format_rates[it.k] = rate
            earlier = [k for k in done if k < it.k]
            if earlier and it.val_accuracy is not None:
                t = store.transitions(db, self.run_id, "val", max(earlier), it.k)
                if t.fixed + t.regressed + t.still_wrong + t.still_right:
                    transitions[it.k] = TransitionCounts(t.fixed, t.regressed)
        summaries = store.list_runs(db)
        dataset_name = next((s.dataset_name for s in summaries if s.run.id == self.run_id), None)
        baselines = [s for s in summaries
                     if s.run.kind == "baseline" and s.run.source_run_id == self.run_id]
        baseline = baselines[0] if baselines else None
        baseline_iterations = store.list_iterations(db, baseline.run.id) if baseline else []
        progress = store.latest_progress(db, self.run_id)
        log = store.recent_events(db, self.run_id, limit=LOG_LINES, kinds=LOG_KINDS)
        alive = engine_control.run_alive(run) if run.pid else False
        link = transfer_link(db, run) if run.kind == "transfer" else None
        best_vs_base = None
        if run.best_iteration and any(it.k == 0 and it.val_accuracy is not None
                                      for it in iterations):
            t = store.transitions(db, self.run_id, "val", 0, run.best_iteration)
            best_vs_base = TransitionCounts(t.fixed, t.regressed)
        baseline_change = None
        if baseline is not None and run.best_iteration is not None:
            t = store.transitions_across(db, "val", (baseline.run.id, run.best_iteration),
                                         (self.run_id, run.best_iteration))
            if t.fixed + t.regressed + t.still_wrong + t.still_right:
                baseline_change = TransitionCounts(t.fixed, t.regressed)
        transfers = transfers_from(db, run.id)
        self.post_message(DashboardLoaded(DashboardData(
            run, dataset_name, iterations, transitions, format_rates, baseline,
            baseline_iterations, progress, log, alive, link, transfers,
            best_vs_base, baseline_change, data_comparisons(db, transfers))))

    @property
    def alpha(self) -> float:
        from engine.grading.stats import DEFAULT_ALPHA

        if self.data is None:
            return DEFAULT_ALPHA
        return float(self.data.run.config.get("loop", {}).get("alpha", DEFAULT_ALPHA))

    def on_dashboard_loaded(self, message: DashboardLoaded) -> None:
        data = message.data
        first = self.data is None
        self.data = data
        self.loads += 1
        run = data.run
        self.sub_title = f"Run {run.id} — {run.name}"
        self._summary(data)
        self._iterations(data)
        plot_key = [(it.k, it.val_accuracy, it.test_accuracy) for it in data.iterations]
        plot_key.append(tuple((b.k, b.val_accuracy) for b in data.baseline_iterations))
        if first or plot_key != getattr(self, "_plot_key", None):
            self._plot_key = plot_key
            self.query_one("#accuracy-plot").show(
                data.iterations, data.baseline_iterations,
                data.baseline.run.name if data.baseline else None)
        self._stages(data)
        self.query_one(TransferPanel).show_links(data.transfer, data.transfers,
                                                 data.data_comparisons)
        quality = self.query_one("#quality-note", Static)
        quality.display = run.kind != "transfer"  # a transfer's data was written before it
        live = data.progress.get("teacher") if run.status in ACTIVE_STATUSES else None
        quality.update(teacher_quality_note(data.iterations, live))
        note = format_note(data.iterations, data.format_rates)
        self.query_one("#format-note", Static).update(note or "")
        self._log(data.log)

    def _summary(self, data: DashboardData) -> None:
        run = data.run
        text = Text()
        text.append(f"{run.name}", style="bold")
        text.append(f"  ·  {run.kind}  ·  ")
        style = {"running": "bold green", "failed": "bold red", "stopping": "bold yellow"}
        if run.status in ACTIVE_STATUSES and run.pid and not data.alive:
            text.append(INTERRUPTED, style="bold yellow")
            text.append(f" (engine process gone: r resumes, or `{resume_hint(run.id)}`)",
                        style="yellow")
        else:
            text.append(run.status, style=style.get(run.status, "bold"))
        if run.stop_reason:
            text.append(f": {run.stop_reason}", style="dim")
        text.append("\n")
        text.append(f"teacher {model_label(run.teacher, 40)}  ·  "
                    f"student {model_label(run.student, 40)}  ·  dataset {data.dataset_name or '—'}")
        best = best_summary(data, self.alpha)
        if best.plain:
            text.append("\n")
            text.append_text(best)
        text.append_text(baseline_summary(data, self.alpha))
        if run.error:
            text.append(f"\nerror: {one_line(run.error, 200)}", style="red")
        self.query_one("#dash-summary", Static).update(text)

    def _iterations(self, data: DashboardData) -> None:
        table = self.query_one(IterationsTable)
        cursor = table.cursor_row
        table.clear()
        previous: Iteration | None = None
        claimed = best_beats_base(data, self.alpha)
        for it in data.iterations:
            kept = "—"
            if it.teacher_attempted:
                kept = f"{it.teacher_kept or 0}/{it.teacher_attempted} {pct(it.teacher_yield, 0)}"
            trans = data.transitions.get(it.k)
            moved = Text("—", style="dim")
            if trans is not None:
                moved = Text()
                moved.append(f"+{trans.fixed}", style="green")
                moved.append(" / ")
                moved.append(f"−{trans.regressed}", style="red")
            tokens = it.teacher_prompt_tokens + it.teacher_completion_tokens
            starred = it.is_best and claimed
            k_cell = Text(f"{it.k}{' ★' if starred else ''}", style="bold" if starred else "")
            val, test = it.scored("val"), it.scored("test")
            status_style = {"running": "green", "failed": "red", "stopped": "yellow"}
            table.add_row(
                k_cell, Text(it.status, style=status_style.get(it.status, "")),
                count(it.train_size), kept,
                accuracy_cell(val.correct, val.total) if val else pct(it.val_accuracy),
                change_cell(it.val_accuracy, previous.val_accuracy if previous else None,
                            trans.fixed if trans else None, trans.regressed if trans else None,
                            self.alpha),
                pct(val.flexible_correct / val.total) if val else "—",
                accuracy_cell(test.correct, test.total) if test else pct(it.test_accuracy),
                pct(data.format_rates.get(it.k), 0), moved,
                "—" if it.train_loss is None else f"{it.train_loss:.3f}",
                duration(it.wall_seconds), count(tokens) if tokens else "—",
                f"${it.teacher_cost:.2f}" if it.teacher_cost else "—",
                key=str(it.k))
            if it.val_accuracy is not None:
                previous = it
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)

    def _stages(self, data: DashboardData) -> None:
        run = data.run
        current = run.stage.split(" ", 1)[0] if run.stage else None
        title = Text("Current stage: ", style="bold")
        if run.status in ACTIVE_STATUSES and run.stage:
            title.append(run.stage, style="green")
        else:
            title.append(f"none ({run.status})", style="dim")
        self.query_one("#stage-title", Static).update(title)
        for stage in ("teacher", "train", "evaluate"):
            widget = self.query_one(f"#stage-{stage}", StageProgress)
            widget.display = stage != "teacher" or run.kind != "transfer"  # no teacher pass
            widget.show(data.progress.get(stage), current == stage)

    def _log(self, events: list[Event]) -> None:
        log = self.query_one("#log-tail", VimLog)
        for event in events:
            if event.id <= self.last_event_id:
                continue
            self.last_event_id = event.id
            line = Text(time.strftime("%H:%M:%S ", time.localtime(event.ts)), style="dim")
            if event.iteration is not None:
                line.append(f"[it {event.iteration}] ", style="cyan")
            style = {"error": "bold red", "stage": "bold"}.get(event.kind, "")
            line.append(event.message or "", style=style)
            log.write(line)

    # -- actions ------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event) -> None:
        self.app.open_errors(self.run_id, iteration=int(event.row_key.value))

    def action_errors(self) -> None:
        self.app.open_errors(self.run_id)

    def action_export(self) -> None:
        self.app.open_export(self.run_id)

    def action_export_model(self) -> None:
        """The best iteration's student as an HF directory, GGUFs and Ollama Modelfiles."""
        from undo_tui.screens.model_export_key import start_model_export

        data = self.data
        if data is None:
            return
        if data.run.best_iteration is None:
            self.notify("No best iteration yet: a model can be exported once an iteration is "
                        "trained and evaluated.", severity="warning")
            return
        start_model_export(self, self.run_id, self.store_path,
                           f"iteration {data.run.best_iteration}'s student")

    def on_model_exported(self, message: ModelExported) -> None:
        from undo_tui.screens.model_export_key import report_model_export

        report_model_export(self, message.done, self.query_one("#log-tail", VimLog))

    def action_transfer(self) -> None:
        """Train another student on one of this run's iterations (a transfer run)."""
        from undo_tui.screens.transfer_dialog import TransferDialog

        data = self.data
        if data is None:
            return
        if data.run.kind == "transfer":
            self.notify("This is already a transfer run: start a transfer from its source run "
                        f"(run {data.run.source_run_id}).", severity="warning")
            return
        trained = [it.k for it in data.iterations if it.k >= 1 and it.train_size]
        if not trained:
            self.notify("No iteration has training data yet: a transfer needs the teacher's "
                        "rationales of at least iteration 1.", severity="warning")
            return
        students = [link.transfer.student for link in data.transfers if link.transfer.student]

        def created(run_id: int | None) -> None:
            if run_id is not None:
                self.start_transfer(run_id)

        self.app.push_screen(TransferDialog(self.run_id, trained, data.run.best_iteration,
                                            students), created)

    @work(thread=True, exit_on_error=False, name="starting the transfer")
    def start_transfer(self, run_id: int) -> None:
        launched = engine_control.resume_run(self.store_path, run_id,
                                             python=self.app.engine_python)
        self.post_message(EngineLaunched(launched.pid, launched.log_path, launched.argv,
                                         started_run=run_id))
        self.report_refusal(launched, "Transfer not started")

    def action_focus_log(self) -> None:
        log = self.query_one("#log-tail", VimLog)
        (self.query_one(IterationsTable) if log.has_focus else log).focus()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_stop(self) -> None:
        refusal = store.why_not_stoppable(self.data.run) if self.data else None
        if refusal:
            self.notify(refusal, severity="warning")
            return
        self.stop_run()

    @work(thread=True, exit_on_error=False, name="requesting a stop")
    def stop_run(self) -> None:
        engine_control.stop_run(self.db(), self.run_id)
        self.post_message(Saved("stop", f"Stop requested for run {self.run_id}.", self.run_id))

    def action_resume(self) -> None:
        if self.data is None:
            return
        ok, why = engine_control.can_resume(self.data.run, self.data.alive)
        if not ok:
            self.notify(why, severity="warning")
            return
        self.resume_run()

    @work(thread=True, exit_on_error=False, name="resuming a run")
    def resume_run(self) -> None:
        try:
            launched = engine_control.resume_checked(self.db(), self.store_path, self.run_id,
                                                     python=self.app.engine_python)
        except store.UndoError as exc:
            self.post_message(WorkFailed("Not resumed", str(exc)))
            return
        self.post_message(EngineLaunched(launched.pid, launched.log_path, launched.argv))
        self.report_refusal(launched, "Not resumed")

    def on_engine_launched(self, message: EngineLaunched) -> None:
        if message.started_run is not None:
            self.notify(f"Transfer run {message.started_run} is training in the background "
                        f"(pid {message.pid}). Log: {message.log_path}", title="Transfer started",
                        timeout=10)
            self.app.open_dashboard(message.started_run)
            return
        self.notify(f"Engine resumed in the background (pid {message.pid}). "
                    f"Log: {message.log_path}", title="Run resumed", timeout=10)
        self.load()

    def on_saved(self, message: Saved) -> None:
        self.notify(message.text)
        self.load()

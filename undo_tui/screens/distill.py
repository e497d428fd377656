"""A distillation run: its status, stage and ETA, the loss and held-out KL against the step, the
latest step's figures, and at the end the student's strict accuracy with its interval and the
KL before -> after. Follows a running distillation live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Footer, Header, Static

import store
from engine.distill.report import format_accuracy, format_kl, format_kl_change, latest_metrics
from store import distill as store_distill
from store.models import Event, Run
from store.processes import effective_status
from undo_tui.progress_text import progress_detail
from undo_tui.screens.base import BaseScreen
from undo_tui.widgets.distill_plot import DistillPlot

STYLES = Path(__file__).resolve().parents[1] / "styles"


@dataclass(frozen=True)
class DistillData:
    run: Run
    status: str  # effective: 'interrupted' when its process is gone
    dataset: str | None
    outcome: store_distill.DistillOutcome
    steps: list[dict]
    kl: list[store_distill.KLPoint]
    progress: Event | None = None


class DistillLoaded(Message):
    def __init__(self, data: DistillData) -> None:
        super().__init__()
        self.data = data


class DistillScreen(BaseScreen):
    HELP_SCOPE = "Distillation"
    CSS_PATH = STYLES / "distill.tcss"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="distill_back"),
        Binding("ctrl+r", "refresh", "Refresh", id="distill_refresh", show=False),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.data: DistillData | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="distill-title", classes="screen-title")
        yield DistillPlot(id="distill-plot")
        yield Static("", id="distill-figures")
        yield Static(Text("ctrl+r: refresh · esc: back · ?: all keys", style="dim"),
                     id="distill-hint", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Distillation — run {self.run_id}"
        self.load()
        self.set_interval(self.app.poll_interval, self._poll)

    def _poll(self) -> None:
        if self.is_current and self.data is not None and \
                self.data.run.status in store.runs.ACTIVE_STATUSES:
            self.load()

    def action_refresh(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="distill", exit_on_error=False,
          name="loading a distillation")
    def load(self) -> None:
        db = self.db()
        run = store.get_run(db, self.run_id)
        dataset = store.get_dataset(db, run.dataset_id).name if run.dataset_id else None
        progress = store.latest_progress(db, self.run_id)
        live = max(progress.values(), key=lambda e: e.id) if progress else None
        self.post_message(DistillLoaded(DistillData(
            run, effective_status(run), dataset, store_distill.get_outcome(db, self.run_id),
            store_distill.loss_history(db, self.run_id), store_distill.kl_history(db, self.run_id),
            live)))

    def on_distill_loaded(self, message: DistillLoaded) -> None:
        data = self.data = message.data
        self.query_one(DistillPlot).show(data.steps, data.kl)
        self.query_one("#distill-title", Static).update(title(data))
        self.query_one("#distill-figures", Static).update(figures(data))


def title(data: DistillData) -> Text:
    """Run, status, the pair and the objective; while it runs, the stage with its ETA."""
    run = data.run
    objective = run.config.get("training", {}).get("objective", "sft")
    text = Text(f"run {run.id} {run.name}", style="bold")
    text.append(f" · {data.status} · {objective} · dataset {data.dataset or '—'}\n")
    text.append(f"teacher {run.teacher} → student {run.student}")
    if run.status in store.runs.ACTIVE_STATUSES and data.progress is not None:
        text.append(f"\n{run.stage or data.progress.stage}: {progress_detail(data.progress)}",
                    style="green")
    if run.status == "failed" and run.error:
        text.append(f"\nfailed: {run.error}", style="red")
    return text


def figures(data: DistillData) -> Text:
    """The latest step, the KL measurements so far, and the result once there is one."""
    outcome = data.outcome
    text = Text()
    if data.steps:
        text.append("latest step: ", style="bold")
        text.append(latest_metrics(data.steps[-1]) + "\n")
    if data.kl:
        text.append("held-out KL: ", style="bold")
        text.append(format_kl(data.kl[-1]) + "\n")
    if outcome.n:
        text.append("strict accuracy: ", style="bold")
        text.append(format_accuracy(outcome) + "\n")
    change = format_kl_change(outcome)
    if outcome.finished_at and change:
        text.append(change + "\n")
    if outcome.student:
        text.append(f"student: {outcome.student}", style="dim")
    return text

"""What the screens of runs computed step by step share (a distillation, an ask training): a
title with the run's stage and ETA, plots against the step, the latest figures, and polling
while the run is active. A subclass says how its data is read (in a worker) and shown."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer, Header, Static

import store
from store.models import Event, Run
from store.processes import effective_status
from undo_tui.messages import ModelExported
from undo_tui.progress_text import progress_detail
from undo_tui.screens.base import BaseScreen

STYLES = Path(__file__).resolve().parents[1] / "styles"


class StepRunScreen(BaseScreen):
    """Its data (a dataclass with `run`) is read by `read(db)` in a worker and shown by
    `show(data)`; `PREFIX` names its widgets (#PREFIX-title, #PREFIX-figures)."""

    CSS_PATH = STYLES / "step_run.tcss"
    PREFIX = "step-run"
    WHAT = "Run"

    class Loaded(Message):
        def __init__(self, data) -> None:
            super().__init__()
            self.data = data

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.data = None
        self.exporting_model = False  # `m` started an export that has not ended

    def plots(self) -> list[Widget]:
        return []

    def read(self, db):
        raise NotImplementedError

    def show(self, data) -> None:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id=f"{self.PREFIX}-title", classes="screen-title step-run-title")
        yield from self.plots()
        yield Static("", id=f"{self.PREFIX}-figures", classes="step-run-figures")
        yield Static(Text("m: export the student · ctrl+r: refresh · esc: back · ?: all keys",
                          style="dim"),
                     id=f"{self.PREFIX}-hint", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"{self.WHAT} — run {self.run_id}"
        self.load()
        self.set_interval(self.app.poll_interval, self._poll)

    def _poll(self) -> None:
        if self.is_current and self.data is not None and \
                self.data.run.status in store.runs.ACTIVE_STATUSES:
            self.load()

    def action_refresh(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="step-run", exit_on_error=False,
          name="loading a run")
    def load(self) -> None:
        self.post_message(self.Loaded(self.read(self.db())))

    def on_step_run_screen_loaded(self, message: Loaded) -> None:
        self.data = message.data
        self.show(message.data)
        self.query_one(f"#{self.PREFIX}-title", Static).update(self.title_text(message.data))
        self.query_one(f"#{self.PREFIX}-figures", Static).update(self.figures(message.data))

    def action_export_model(self) -> None:
        """The finished run's student as an HF directory, GGUFs and Ollama Modelfiles."""
        from undo_tui.screens.model_export_key import start_model_export

        data = self.data
        if data is None:
            return
        if data.status != "finished":
            self.notify(f"Run {self.run_id} is {data.status}: its student can be exported once "
                        "the run has finished.", severity="warning")
            return
        start_model_export(self, self.run_id, self.store_path, "the student")

    def on_model_exported(self, message: ModelExported) -> None:
        from undo_tui.screens.model_export_key import report_model_export

        report_model_export(self, message.done)

    def title_text(self, data) -> Text:
        raise NotImplementedError

    def figures(self, data) -> Text:
        raise NotImplementedError


def run_head(db, run_id: int) -> tuple[Run, str, str | None, Event | None]:
    """(the run, its effective status, its dataset's name, its newest progress event of any
    stage): what every such screen's title shows."""
    run = store.get_run(db, run_id)
    dataset = store.get_dataset(db, run.dataset_id).name if run.dataset_id else None
    progress = store.latest_progress(db, run_id)
    live = max(progress.values(), key=lambda e: e.id) if progress else None
    return run, effective_status(run), dataset, live


def run_heading(run: Run, status: str, what: str, dataset: str | None,
                progress: Event | None) -> Text:
    """'run 3 name · running · what · dataset d', the pair, and while it runs the stage with
    its progress and ETA; a failed run's error."""
    text = Text(f"run {run.id} {run.name}", style="bold")
    text.append(f" · {status} · {what} · dataset {dataset or '—'}\n")
    text.append(f"teacher {run.teacher} → student {run.student}")
    if run.status in store.runs.ACTIVE_STATUSES and progress is not None:
        text.append(f"\n{run.stage or progress.stage}: {progress_detail(progress)}",
                    style="green")
    if run.status == "failed" and run.error:
        text.append(f"\nfailed: {run.error}", style="red")
    return text

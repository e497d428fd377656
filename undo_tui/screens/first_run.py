"""First run: the store is empty; say how to import a dataset and how to open the sample run."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

import store
from undo_tui.screens.base import BaseScreen


def sample_store_path() -> Path:
    """The recorded sample run shipped in the repository (sample_runs/demo.db)."""
    import undo_tui

    return Path(undo_tui.__file__).resolve().parents[1] / "sample_runs" / "demo.db"


def welcome_text(store_path: Path, sample: Path) -> Text:
    s = f"--store {store_path}"
    text = Text()
    text.append("Welcome to undo-tui\n\n", style="bold")
    text.append("This store is empty: ", style="")
    text.append(f"{store_path}\n\n", style="bold")
    text.append("1. Import a dataset (JSONL, CSV, Parquet or the built-in task):\n", style="bold")
    text.append(f"     undo-tui {s} import data.jsonl --dataset NAME\n")
    text.append(f"     undo-tui {s} import --builtin arith --dataset arith\n")
    text.append("     (undo-tui import --help lists the formats and field names)\n\n", style="dim")
    text.append("2. Start a run from a config file:\n", style="bold")
    text.append("     press n here, or: ")
    text.append(f"undo-tui {s} run run.toml\n\n")
    text.append("3. Or watch a real UNDO loop on this CPU (about 15-20 minutes):\n", style="bold")
    text.append("     undo-tui demo\n\n")
    text.append("The bundled sample run: ", style="bold")
    if sample.exists():
        text.append(f"{sample}\n", style="green")
        text.append("     press o to open it (or run: undo-tui sample_runs/demo.db)\n")
    else:
        text.append(f"not found at {sample}\n", style="yellow")
        text.append("     it ships with a source checkout; `undo-tui demo` records a new one\n")
    text.append("\nThis screen turns into the runs list as soon as the store has data.",
                style="dim")
    return text


class FirstRunScreen(BaseScreen):
    HELP_SCOPE = "First run"
    BINDINGS = [
        Binding("o", "open_sample", "Open sample run", id="first_open_sample"),
        Binding("n", "new_run", "New run", id="first_new_run"),
        Binding("ctrl+r", "refresh", "Refresh", id="first_refresh", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="first-run"):
            yield Static(welcome_text(self.store_path, sample_store_path()), id="welcome")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "Empty store"
        self.set_interval(max(2.0, self.app.poll_interval), self.action_refresh)

    def action_refresh(self) -> None:
        if self.is_current:
            self.check()

    @work(thread=True, exclusive=True, group="first-run", exit_on_error=False,
          name="checking the store")
    def check(self) -> None:
        db = self.db()
        if store.list_runs(db) or store.list_datasets(db):
            self.app.call_from_thread(self.app.show_runs)

    def action_open_sample(self) -> None:
        sample = sample_store_path()
        if not sample.exists():
            self.notify(f"No sample run at {sample}; `undo-tui demo` records one",
                        severity="warning")
            return
        self.app.switch_store(sample)

    def action_new_run(self) -> None:
        from undo_tui.screens.runs import RunsScreen

        self.app.show_runs()
        screen = self.app.screen
        if isinstance(screen, RunsScreen):
            screen.action_new_run()

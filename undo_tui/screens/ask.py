"""An ask-training run: its status, stage and ETA, the loss against the step, λ and the
realised usage per budget level against the PCL step, the latest figures, and at the end where
the asker is (the directory `wheels add --asker` takes). Follows a running one live."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding

from store import ask as store_ask
from store.models import Event, Run
from undo_tui.screens.step_run import StepRunScreen, run_head, run_heading
from undo_tui.widgets.ask_plot import AskLevelsPlot, AskLossPlot


@dataclass(frozen=True)
class AskData:
    run: Run
    status: str  # effective: 'interrupted' when its process is gone
    dataset: str | None
    outcome: store_ask.AskOutcome
    warm: list[dict]  # the warm start's steps
    pcl: list[dict]  # the PCL stage's steps
    progress: Event | None = None


class AskScreen(StepRunScreen):
    HELP_SCOPE = "Ask training"
    PREFIX = "ask"
    WHAT = "Ask training"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="ask_back"),
        Binding("ctrl+r", "refresh", "Refresh", id="ask_refresh", show=False),
        Binding("m", "export_model", "Model", id="ask_export_model"),
    ]

    def plots(self):
        return [AskLossPlot(id="ask-loss", classes="step-run-plot"),
                AskLevelsPlot(id="ask-levels", classes="step-run-plot")]

    def read(self, db) -> AskData:
        run, status, dataset, progress = run_head(db, self.run_id)
        return AskData(run, status, dataset, store_ask.get_outcome(db, self.run_id),
                       store_ask.warm_history(db, self.run_id),
                       store_ask.pcl_history(db, self.run_id), progress)

    def show(self, data: AskData) -> None:
        self.query_one(AskLossPlot).show(data.warm, data.pcl)
        self.query_one(AskLevelsPlot).show(data.pcl)

    def title_text(self, data: AskData) -> Text:
        """Run, status, the levels and PCL steps; while it runs, the stage with its ETA."""
        ask = data.run.config.get("ask", {})
        levels = ", ".join(f"{100 * level:g}%" for level in ask.get("levels", []))
        what = f"asks at {levels} · {data.run.config.get('pcl', {}).get('steps', 0)} PCL steps"
        return run_heading(data.run, data.status, what, data.dataset, data.progress)

    def figures(self, data: AskData) -> Text:
        """The latest step of each stage, and where the asker is once it is written."""
        # only once an ask run is shown: the help screen imports this module at start-up
        from engine.wheels.ask_report import level_figures, pcl_figures, warm_line

        outcome = data.outcome
        text = Text()
        if data.warm:
            text.append("warm start: ", style="bold")
            text.append(warm_line(data.warm[-1]) + "\n")
        if data.pcl:
            text.append("PCL: ", style="bold")
            text.append(pcl_figures(data.pcl[-1]) + "\n")
        final = outcome.result.get("final")
        if outcome.finished_at and final:
            text.append("at the end: ", style="bold")
            text.append(level_figures(final) + "\n")
        if outcome.asker:
            text.append("asker: ", style="bold")
            text.append(outcome.asker + (f" (copied to {outcome.out_dir})"
                                         if outcome.out_dir else ""))
        return text

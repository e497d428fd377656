"""A distillation run: its status, stage and ETA, the loss and held-out KL against the step, the
latest step's figures, and at the end the student's strict accuracy with its interval and the
KL before -> after. Follows a running distillation live."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding

from engine.distill.report import (format_accuracy, format_kl, format_kl_change, latest_metrics,
                                   secondary_scores)
from store import distill as store_distill
from store.models import Event, Run
from undo_tui.screens.step_run import StepRunScreen, run_head, run_heading
from undo_tui.widgets.distill_plot import DistillPlot


@dataclass(frozen=True)
class DistillData:
    run: Run
    status: str  # effective: 'interrupted' when its process is gone
    dataset: str | None
    outcome: store_distill.DistillOutcome
    steps: list[dict]
    kl: list[store_distill.KLPoint]
    progress: Event | None = None


class DistillScreen(StepRunScreen):
    HELP_SCOPE = "Distillation"
    PREFIX = "distill"
    WHAT = "Distillation"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="distill_back"),
        Binding("ctrl+r", "refresh", "Refresh", id="distill_refresh", show=False),
        Binding("m", "export_model", "Model", id="distill_export_model"),
    ]

    def plots(self):
        return [DistillPlot(id="distill-plot", classes="step-run-plot")]

    def read(self, db) -> DistillData:
        run, status, dataset, progress = run_head(db, self.run_id)
        return DistillData(run, status, dataset, store_distill.get_outcome(db, self.run_id),
                           store_distill.loss_history(db, self.run_id),
                           store_distill.kl_history(db, self.run_id), progress)

    def show(self, data: DistillData) -> None:
        self.query_one(DistillPlot).show(data.steps, data.kl)

    def title_text(self, data: DistillData) -> Text:
        """Run, status, the pair and the objective; while it runs, the stage with its ETA."""
        objective = data.run.config.get("training", {}).get("objective", "sft")
        return run_heading(data.run, data.status, objective, data.dataset, data.progress)

    def figures(self, data: DistillData) -> Text:
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
            for line in secondary_scores(outcome):
                text.append(line + "\n", style="dim")
        change = format_kl_change(outcome)
        if outcome.finished_at and change:
            text.append(change + "\n")
        if outcome.student:
            text.append(f"student: {outcome.student}", style="dim")
        return text

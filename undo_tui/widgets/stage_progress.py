"""One stage of a run (teacher, train, evaluate) as a labelled progress bar with loss and ETA."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from store.models import Event
from undo_tui.progress_text import progress_detail, progress_numbers

STAGE_TITLES = {"teacher": "teacher", "train": "train", "evaluate": "evaluate"}


class StageProgress(Horizontal):
    """`teacher  [=====     ]  it 2 · 30/50 · ETA 1:20`."""

    def __init__(self, stage: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stage = stage

    def compose(self) -> ComposeResult:
        yield Label(STAGE_TITLES.get(self.stage, self.stage), classes="stage-name")
        # never indeterminate: that state animates (and repaints) continuously
        yield ProgressBar(total=100, show_eta=False, show_percentage=True, classes="stage-bar")
        yield Label("—", classes="stage-detail")

    def show(self, event: Event | None, current: bool) -> None:
        bar = self.query_one(ProgressBar)
        detail = self.query_one(".stage-detail", Label)
        self.set_class(current, "-current")
        if event is None:
            bar.update(total=100, progress=0)
            detail.update("no progress recorded")
            return
        done, total = progress_numbers(event)
        if total:
            bar.update(total=total, progress=min(done or 0, total))
        else:
            bar.update(total=100, progress=0)
        detail.update(progress_detail(event))

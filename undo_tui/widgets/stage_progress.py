"""One stage of a run (teacher, train, evaluate) as a labelled progress bar with loss and ETA."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from store.models import Event
from undo_tui.widgets.render import duration

STAGE_TITLES = {"teacher": "teacher", "train": "train", "evaluate": "evaluate"}


def progress_numbers(event: Event) -> tuple[int | None, int | None]:
    data = event.data or {}
    done = event.done if event.done is not None else data.get("done", data.get("step"))
    total = event.total if event.total is not None else data.get("total", data.get("total_steps"))
    return done, total


def progress_detail(event: Event) -> str:
    """'10/40 · loss 1.500 · ETA 1:35 (it 2)' from a progress event."""
    data = event.data or {}
    done, total = progress_numbers(event)
    parts = []
    if done is not None and total:
        parts.append(f"{done}/{total}")
    if data.get("kept") is not None:
        parts.append(f"kept {data['kept']}")
    if data.get("loss") is not None:
        parts.append(f"step loss {float(data['loss']):.3f}")
    if data.get("tokens_per_s"):
        parts.append(f"{float(data['tokens_per_s']):.0f} tok/s")
    eta = data.get("eta_s")
    if eta is not None and done is not None and total and done < total:
        parts.append(f"ETA {duration(float(eta))}")
    text = " · ".join(parts)
    if event.iteration is not None:
        text = f"{text} (it {event.iteration})".strip()
    return text


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

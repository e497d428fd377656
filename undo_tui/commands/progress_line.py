"""A single updating terminal line: a running run's newest progress event (`run`, `resume`,
`demo --headless`), or a teacher pass's (`generate`)."""

from __future__ import annotations

import time

import store
from undo_tui.commands.terminal_line import TerminalLine
from undo_tui.progress_text import progress_detail


def format_progress(event: store.Event) -> str:
    """'14:03:07 [teacher it 1] 70/180 tries · kept 5 · 0:45 elapsed · ETA 1:20': when it was
    written, the stage, and its counts against the whole stage's total."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.ts))
    detail = progress_detail(event, elapsed=True)
    if event.iteration is not None:
        detail = detail.removesuffix(f" (it {event.iteration})")
        return f"{stamp} [{event.stage} it {event.iteration}] {detail}"
    return f"{stamp} [{event.stage}] {detail}"


class ProgressLine(TerminalLine):
    """tick() redraws the line from the store's newest progress event."""

    def __init__(self, db, run_id: int, stream=None):
        super().__init__(stream)
        self.db, self.run_id = db, run_id
        self.last_id = 0

    def tick(self) -> None:
        events = store.events_since(self.db, self.run_id, self.last_id, kinds=("progress",))
        if not events:
            return
        self.last_id = events[-1].id
        self.show(format_progress(events[-1]))

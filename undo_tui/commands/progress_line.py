"""A single updating terminal line showing a running run's newest progress event."""

from __future__ import annotations

import sys
import time

import store
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


class ProgressLine:
    """tick() redraws the line from the store; echo() prints a permanent line above it."""

    def __init__(self, db, run_id: int, stream=None):
        self.db, self.run_id = db, run_id
        self.stream = stream or sys.stdout
        self.last_id = 0
        self.width = 0
        self.interactive = self.stream.isatty()

    def tick(self) -> None:
        events = store.events_since(self.db, self.run_id, self.last_id, kinds=("progress",))
        if not events:
            return
        self.last_id = events[-1].id
        text = format_progress(events[-1])
        if self.interactive:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def echo(self, line: str) -> None:
        if self.interactive and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.width = 0
        self.stream.write(line + "\n")
        self.stream.flush()

"""A single updating terminal line showing a running run's newest progress event."""

from __future__ import annotations

import sys

import store


def format_progress(event: store.Event) -> str:
    data = event.data or {}
    where = event.stage if event.iteration is None else f"{event.stage} it{event.iteration}"
    parts = [f"[{where}]"]
    if event.done is not None and event.total:
        parts.append(f"{event.done}/{event.total}")
    if data.get("kept") is not None:
        parts.append(f"kept {data['kept']}")
    if data.get("loss") is not None:
        parts.append(f"loss {data['loss']:.3f}")
    if data.get("tokens_per_s"):
        parts.append(f"{data['tokens_per_s']:.0f} tok/s")
    if data.get("eta_s") is not None:
        eta = int(data["eta_s"])
        parts.append(f"ETA {eta // 60}:{eta % 60:02d}")
    return " ".join(parts)


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

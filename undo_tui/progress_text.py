"""A progress event in words, the same in the TUI's stage bars and the CLI's progress lines:
'70/180 tries · kept 5 · step loss 1.500 · 12 tok/s · 0:45 elapsed · ETA 1:20 (it 2)'."""

from __future__ import annotations

from store.models import Event
from undo_tui.widgets.render import duration


def progress_numbers(event: Event) -> tuple[int | None, int | None]:
    data = event.data or {}
    done = event.done if event.done is not None else data.get("done", data.get("step"))
    total = event.total if event.total is not None else data.get("total", data.get("total_steps"))
    return done, total


def progress_detail(event: Event, *, elapsed: bool = False) -> str:
    """The event's counts, loss, speed and ETA; `elapsed`: also the time the stage has taken."""
    data = event.data or {}
    done, total = progress_numbers(event)
    parts = []
    if done is not None and total:
        # a teacher pass with retries counts tries: examples x rounds, known from the start
        parts.append(f"{done}/{total}" + (" tries" if (data.get("rounds") or 1) > 1 else ""))
    if data.get("kept") is not None:
        parts.append(f"kept {data['kept']}")
    if data.get("loss") is not None:
        parts.append(f"step loss {float(data['loss']):.3f}")
    if data.get("tokens_per_s"):
        parts.append(f"{float(data['tokens_per_s']):.0f} tok/s")
    if elapsed and data.get("elapsed_s") is not None:
        parts.append(f"{duration(float(data['elapsed_s']))} elapsed")
    eta = data.get("eta_s")
    if eta is not None and done is not None and total and done < total:
        parts.append(f"ETA {duration(float(eta))}")
    text = " · ".join(parts)
    if event.iteration is not None:
        text = f"{text} (it {event.iteration})".strip()
    return text

"""Table columns sized to the terminal: each column as wide as its content, the free width to one
growing column, and when the terminal is too narrow the columns that give up width most readily
shrink first (free text before models, models before names; the widest of a kind first, each to
its minimum), then the least important ones are left out.

Text is cut where it tells rows apart the least: ids and model names in the middle
('arith-…-0042'), free text at its end.
"""

from __future__ import annotations

from dataclasses import dataclass

PADDING = 2  # a DataTable cell's padding, one space each side
SCROLLBAR = 2  # a DataTable's vertical scrollbar


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    natural: int  # the widest content
    minimum: int = 4
    grow: bool = False  # takes the width left over
    drop: int | None = None  # left out first when nothing fits: lower drops first
    give: int = 0  # how readily it gives up width: higher shrinks first (free text > ids)


def fit_columns(cols: list[Col], width: int) -> dict[str, int]:
    """Column widths (key -> cells, without padding) for `width` cells of table (less its
    scrollbar, if it shows one); columns left out are absent. Keeps the order of `cols`."""
    shown = list(cols)
    while True:
        widths = {c.key: max(c.natural, len(c.label), 1) for c in shown}
        excess = _total(widths) - width
        floor = {c.key: max(min(c.minimum, widths[c.key]), len(c.label), 1) for c in shown}
        for level in sorted({c.give for c in shown}, reverse=True):
            group = [c.key for c in shown if c.give >= level]
            while excess > 0:
                key = max((k for k in group if widths[k] > floor[k]), key=widths.get,
                          default=None)
                if key is None:
                    break
                widths[key] -= 1
                excess -= 1
        droppable = [c for c in shown if c.drop is not None]
        if excess <= 0 or not droppable:
            break
        shown.remove(min(droppable, key=lambda c: c.drop))
    growing = next((c.key for c in shown if c.grow), None)
    if growing is not None and excess < 0:
        widths[growing] -= excess  # the free width
    return widths


def _total(widths: dict[str, int]) -> int:
    return sum(widths.values()) + PADDING * len(widths)


def cut_middle(text: str, width: int) -> str:
    """'arith-L1-…-0-12': an id keeps its start and (more of) its end, where ids differ."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1) // 3
    tail = width - 1 - head
    return text[:head] + "…" + text[len(text) - tail:]

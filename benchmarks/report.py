"""One printed line per figure, `name  value unit  baseline  ratio`, so noisy machines stay comparable."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    def line(self) -> str:
        base = "-" if self.baseline is None else f"{self.baseline:.4g}"
        ratio = "-" if self.ratio is None else f"{self.ratio:.3g}x"
        text = f"{self.name}  {self.value:.4g} {self.unit}  {base}  {ratio}"
        return f"{text}  # {self.note}" if self.note else text


def emit(figure: Figure) -> Figure:
    """Print a figure at once (benchmarks are long; partial output is still useful)."""
    print(figure.line(), flush=True)
    sys.stdout.flush()
    return figure


LINE = re.compile(r"^(?P<name>\S+)  (?P<value>\S+) (?P<unit>\S+)  (?P<baseline>\S+)  "
                  r"(?P<ratio>\S+)(?:  # (?P<note>.*))?$")


def parse(line: str) -> Figure | None:
    """The Figure a printed figure line holds (value and baseline at printed precision), or None
    for a comment, the header or anything else; the inverse of Figure.line, for comparing runs."""
    match = LINE.match(line.rstrip("\n"))
    if match is None or line.startswith("name  "):
        return None
    try:
        value = float(match["value"])
        baseline = None if match["baseline"] == "-" else float(match["baseline"])
        if match["ratio"] != "-":
            float(match["ratio"].removesuffix("x"))
    except ValueError:
        return None
    return Figure(match["name"], value, match["unit"], baseline, match["note"] or "")

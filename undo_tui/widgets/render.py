"""Rich Text for cells and panels: verdict marks, per-iteration history, word diffs, numbers."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text

RIGHT, WRONG, MISSING = "✓", "✗", "·"
STYLE_RIGHT = "bold green"
STYLE_WRONG = "bold red"
STYLE_INSERT = "bold green on #0f3d1a"
STYLE_DELETE = "red strike on #3d0f0f"


def verdict(correct: bool | None) -> Text:
    if correct is None:
        return Text(MISSING, style="dim")
    return Text(RIGHT, style=STYLE_RIGHT) if correct else Text(WRONG, style=STYLE_WRONG)


def history_text(history: Iterable[tuple[int, bool]], iterations: list[int],
                 current: int | None = None) -> Text:
    """'✗ ✗ ✓': the example's verdict at each iteration in order (· where not evaluated)."""
    by_k = dict(history)
    text = Text()
    for i, k in enumerate(iterations):
        if i:
            text.append(" ")
        mark = verdict(by_k.get(k))
        if k == current:
            mark.stylize("underline")
        text.append_text(mark)
    return text


def run_outcome(status: str, stop_reason: str | None) -> str:
    """'finished: reached the iteration cap (2)': a stop reason carries its own parentheses."""
    return f"{status}: {stop_reason}" if stop_reason else status


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def delta_points(now: float | None, before: float | None) -> Text:
    if now is None or before is None:
        return Text("—", style="dim")
    points = (now - before) * 100
    if abs(points) < 0.05:
        return Text("±0.0", style="dim")
    return Text(f"{points:+.1f}", style="green" if points > 0 else "red")


def accuracy_cell(correct: int | None, total: int | None) -> Text:
    """"2.0% [0.6–7.0]": an accuracy with its 95% Wilson interval (n is shown once, above)."""
    from engine.grading.stats import wilson_interval

    if not total or correct is None:
        return Text("—", style="dim")
    low, high = wilson_interval(correct, total)
    text = Text(f"{correct / total * 100:.1f}%")
    text.append(f" [{low * 100:.1f}–{high * 100:.1f}]", style="dim")
    return text


def change_cell(now: float | None, before: float | None, fixed: int | None,
                regressed: int | None, alpha: float) -> Text:
    """The change in points with its verdict: "+1.0 noise" unless McNemar says otherwise."""
    from engine.grading.stats import compare, format_p

    cell = delta_points(now, before)
    if fixed is None or regressed is None or now is None or before is None:
        return cell
    comparison = compare(fixed, regressed, alpha)
    if comparison.significant and comparison.net:
        cell.append(f" {format_p(comparison.p_value)}", style="bold")
    else:
        cell.append(" noise", style="dim")
    return cell


def duration(seconds: float | None, *, hours: bool = False) -> str:
    """'1:05' or '1:02:05'; `hours`: always with the hours ('0:01:05')."""
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{h}:{minutes:02d}:{secs:02d}" if h or hours else f"{minutes}:{secs:02d}"


def count(n: int | None) -> str:
    if n is None:
        return "—"
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    if n >= 1000:
        return f"{n / 1000:.1f}k"
    return str(n)


def highlight(text: str, words: list[str], style: str = "reverse") -> Text:
    """Text with every case-insensitive occurrence of the words highlighted."""
    rich = Text(text)
    for word in words:
        if word:
            rich.highlight_regex(re.compile(re.escape(word), re.IGNORECASE), style)
    return rich


def one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@dataclass(frozen=True)
class DiffStats:
    inserted: int
    deleted: int
    unchanged: int


_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(before: str, after: str) -> tuple[Text, DiffStats]:
    """A word-level diff of two texts as one Text: deletions struck out red, insertions green."""
    a, b = _TOKENS.findall(before), _TOKENS.findall(after)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    out = Text()
    inserted = deleted = unchanged = 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            chunk = "".join(a[i1:i2])
            out.append(chunk)
            unchanged += _words(a[i1:i2])
            continue
        if op in ("delete", "replace"):
            out.append("".join(a[i1:i2]), style=STYLE_DELETE)
            deleted += _words(a[i1:i2])
        if op in ("insert", "replace"):
            out.append("".join(b[j1:j2]), style=STYLE_INSERT)
            inserted += _words(b[j1:j2])
    return out, DiffStats(inserted, deleted, unchanged)


def _words(tokens: list[str]) -> int:
    return sum(1 for t in tokens if not t.isspace())


def model_label(model: str | None, width: int = 24) -> str:
    """A model's file or directory name rather than its whole path (or a hub id's name);
    a backend prefix stays: 'llamacpp:/models/x.gguf' -> 'llamacpp:x.gguf'."""
    if not model:
        return "—"
    prefix, sep, rest = model.partition(":")
    if not sep or "/" in prefix:
        prefix, rest = "", model
    else:
        prefix += ":"
    name = Path(rest.rstrip("/")).name if "/" in rest else rest
    return one_line(prefix + (name or rest), width)


"""An assisted output as text in which every token the teacher wrote is highlighted."""

from __future__ import annotations

from rich.text import Text

from store.wheels import Output

TEACHER_STYLE = "bold black on yellow"


def owned_text(output: Output) -> Text:
    """The output's text, each teacher-written token's piece in TEACHER_STYLE."""
    text = Text()
    for piece, owner in zip(output.pieces, output.owners):
        text.append(piece, style=TEACHER_STYLE if owner == "t" else "")
    return text


def legend() -> Text:
    text = Text("tokens the teacher wrote", style=TEACHER_STYLE)
    text.append(" · the rest the student wrote", style="dim")
    return text


def verdict(output: Output, metric: str | None) -> Text:
    """✓ / ✗ with the strict answer (accuracy), or the text score, plus asks and length."""
    if metric == "accuracy":
        mark = Text("✓ " if output.score else "✗ ", style="green" if output.score else "red")
        mark.append(f"answer {output.answer or '—'}")
    else:
        mark = Text(f"{metric} {output.score:.1f}")
    mark.append(f" · teacher wrote {output.asks}/{output.new_tokens} tokens", style="dim")
    if not output.finished:
        mark.append(" · cut at the token limit", style="yellow")
    return mark

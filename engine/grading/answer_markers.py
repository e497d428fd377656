"""Where a model's output states its final answer: answer lines, \\boxed{}, `####`, choice phrases.

Every explicit marker is found with its position, so that the last one in the text wins whatever
its kind ("Answer: 18 ... wait ... \\boxed{24}" is 24). An answer line's text runs to the end of its
line or to the next marker. Pure string work, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.grading.numbers import braced_group


@dataclass(frozen=True)
class Marker:
    start: int
    rule: str  # "answer_line" | "boxed" | "hashes" | "choice"
    text: str  # what the marker introduces: the rest of its line, a box's content, a letter
    whole: bool  # `text` is the whole value (a box, a letter), not a line to read


_ANSWER_LINE = re.compile(
    r"(?<![A-Za-z])answer(?![A-Za-z])[ \t]*(?:\*\*|__)?[ \t]*"
    r"(?:(?P<neg>(?:is|was|would[ \t]+be|will[ \t]+be)[ \t]+not\b|(?:is|was)n['’]t\b)"
    r"|:|=|(?:is|was|would[ \t]+be|will[ \t]+be|should[ \t]+be|must[ \t]+be)\b[ \t]*:?)"
    r"[ \t]*(?:\*\*|__)?[ \t]*\n?[ \t]*",
    re.IGNORECASE,
)
# "the student's answer is 18", "a wrong answer: 12": someone else's answer, not the output's own.
_NOT_OWN = re.compile(
    r"(?:\bstudent['’]?s?|\byour|\bhis|\bher|\btheir|\bwrong|\bincorrect|\bprevious|\boriginal|"
    r"\bold|\bother)\s+(?:final\s+)?(?:\*\*|__)?$",
    re.IGNORECASE,
)
_HASHES = re.compile(r"####[ \t]*")
_BOXED_START = re.compile(r"\\(?:boxed|fbox)\s*")
# "I choose (B)", "the correct option is C", "(B) is correct", "Option D looks right".
_CHOICE = re.compile(
    r"\b(?:choose|chose|pick|select|go\s+with|going\s+with)\s+(?:option\s+|choice\s+)?"
    r"\(?(?P<a>[A-Za-z])\)?(?![\w'’])"
    r"|\b(?:correct|right|best)\s+(?:option|choice|letter)\s+(?:is\s*:?|=|:)\s*"
    r"\(?(?P<b>[A-Za-z])\)?(?![\w'’])"
    r"|(?:\b(?:option|choice)\s+\(?(?P<c>[A-Za-z])\)?|\((?P<d>[A-Za-z])\)|(?<![\w(])(?P<e>[A-Z])\))"
    r"\s+(?:is|looks|seems)\s+(?:the\s+)?(?:correct|right)\b",
    re.IGNORECASE,
)


def find_markers(text: str, answer_type: str) -> list[Marker]:
    """Every explicit answer marker in `text`, in text order."""
    found: list[tuple[int, str, int]] = []  # (start, rule, where its value starts)
    for match in _ANSWER_LINE.finditer(text):
        if not _NOT_OWN.search(text[max(0, match.start() - 40) : match.start()]):
            value_start = match.start("neg") if match.group("neg") else match.end()
            found.append((match.start(), "answer_line", value_start))
    found += [(m.start(), "hashes", m.end()) for m in _HASHES.finditer(text)]
    boxes = [(start, content) for start, content in _boxes(text)]
    found += [(start, "boxed", -1) for start, _ in boxes]
    letters = {}
    if answer_type == "choice":
        for match in _CHOICE.finditer(text):
            letters[match.start()] = next(g for g in match.group("a", "b", "c", "d", "e") if g)
            found.append((match.start(), "choice", -1))
    found.sort()
    box_content = dict(boxes)
    markers = []
    for i, (start, rule, value_start) in enumerate(found):
        if rule == "boxed":
            markers.append(Marker(start, rule, box_content[start], True))
        elif rule == "choice":
            markers.append(Marker(start, rule, letters[start], True))
        else:
            line_end = text.find("\n", value_start)
            end = min(line_end if line_end >= 0 else len(text),
                      found[i + 1][0] if i + 1 < len(found) else len(text))
            markers.append(Marker(start, rule, text[value_start:max(end, value_start)], False))
    return markers


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} or \\fbox{...} (nested braces handled; also `\\boxed 5`)."""
    boxes = _boxes(text)
    return boxes[-1][1] if boxes else None


def _boxes(text: str) -> list[tuple[int, str]]:
    """(start, content) of every complete box in `text`."""
    boxes = []
    for start in _BOXED_START.finditer(text):
        rest = text[start.end() :]
        if rest.startswith("{"):
            content = braced_group(rest)
            if content is not None:
                boxes.append((start.start(), content.strip()))
        elif start.group(0).endswith(" ") and rest:
            token = re.match(r"[^\s$]+", rest)
            if token:
                boxes.append((start.start(), token.group(0)))
    return boxes

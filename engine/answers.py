"""Finding the final answer in a model's output and grading it against the gold answer.

Grading decides which teacher rationales are kept and what the student's accuracy is, so the rules
are explicit and reported: which rule matched, and whether only the last-number guess did.
Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

from engine.numbers import braced_group, format_number, numbers_in, parse_number

ANSWER_TYPES = ("number", "choice", "math", "string")
DEFAULT_RULES = ("answer_line", "boxed", "hashes", "choice", "last_number")
# Markers that show the output followed the requested answer format.
EXPLICIT_RULES = ("answer_line", "boxed", "hashes")
# Rationales (the teacher's, and a human's edits of them) are graded without the last-number
# guess: a kept rationale must carry the answer line the student should learn.
TEACHER_RULES = (*EXPLICIT_RULES, "choice")


@dataclass(frozen=True)
class Extracted:
    value: str | None  # normalised answer text, None if nothing found
    rule: str | None  # the rule that matched
    fallback: bool  # True when only the last-number fallback matched


@dataclass(frozen=True)
class Graded:
    answer: str | None
    rule: str | None
    fallback: bool
    correct: bool
    has_answer_line: bool  # an explicit answer marker was present (format compliance)


_ANSWER_LINE = re.compile(
    r"\banswer\b\s*(?:\*\*|__)?\s*(?::|\bis\b[ \t]*:?|=)[ \t]*(?:\*\*|__)?[ \t]*\n?[ \t]*(?P<value>[^\n]*)",
    re.IGNORECASE,
)
_HASHES = re.compile(r"####[ \t]*(?P<value>[^\n]*)")
_BOXED_START = re.compile(r"\\(?:boxed|fbox)\s*")
_CALCULATOR = re.compile(r"<<[^<>]*>>")
_LETTER = re.compile(r"^\(?\s*([A-Za-z])\s*(?:\)|\]|[.:,]|$)")
# "(B)" / "(b)", "B)" (capital only: "a)" is too common in prose), "option B", "choice C".
_CHOSEN = re.compile(
    r"\(([A-Za-z])\)|(?<![\w(])([A-Z])\)|\b(?i:option|choice)\s+\(?([A-Za-z])\b"
)


def extract_answer(
    text: str,
    answer_type: str = "number",
    rules: Sequence[str] = DEFAULT_RULES,
    choices: Sequence[str] | None = None,
) -> Extracted:
    """The final answer in `text` by the first rule (in `rules` order) that yields a parseable value."""
    _check_type(answer_type)
    for rule in rules:
        value = _RULES[rule](text, answer_type, choices)
        if value is not None:
            return Extracted(value=value, rule=rule, fallback=rule == "last_number")
    return Extracted(value=None, rule=None, fallback=False)


def normalize_answer(value: str, answer_type: str = "number") -> str | None:
    """Canonical form of an answer; None if it cannot be read as that type."""
    _check_type(answer_type)
    if value is None:
        return None
    boxed = last_boxed(value)
    if boxed is not None:
        value = boxed
    if answer_type == "number":
        number = parse_number(_after_equals(value))
        return None if number is None else format_number(number)
    if answer_type == "choice":
        match = _LETTER.match(_strip_markup(value))
        return match.group(1).upper() if match else None
    if answer_type == "math":
        return _normalize_math(value)
    return _normalize_string(value)


def answers_match(
    predicted: str | None, gold: str, answer_type: str = "number", rel_tol: float = 1e-6
) -> bool:
    """Whether a predicted answer equals the gold one: numerically (with tolerance) where both are numbers."""
    if predicted is None or gold is None:
        return False
    if answer_type in ("number", "math"):
        a = parse_number(_after_equals(last_boxed(predicted) or predicted))
        b = parse_number(_after_equals(last_boxed(gold) or gold))
        if a is not None and b is not None:
            return a == b or math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-12)
        if answer_type == "number":
            return False
    p, g = normalize_answer(predicted, answer_type), normalize_answer(gold, answer_type)
    return p is not None and p == g


def grade(
    text: str,
    gold: str,
    answer_type: str = "number",
    rules: Sequence[str] = DEFAULT_RULES,
    choices: Sequence[str] | None = None,
) -> Graded:
    """Extract the answer from a model output and judge it against the gold answer."""
    found = extract_answer(text, answer_type, rules, choices)
    return Graded(
        answer=found.value,
        rule=found.rule,
        fallback=found.fallback,
        correct=answers_match(found.value, gold, answer_type),
        has_answer_line=has_answer_marker(text),
    )


def has_answer_marker(text: str) -> bool:
    """An explicit `Answer:` line, `\\boxed{}` or `####` is present, whatever it contains."""
    return bool(_ANSWER_LINE.search(text) or _HASHES.search(text) or last_boxed(text) is not None)


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} or \\fbox{...} (nested braces handled; also `\\boxed 5`)."""
    starts = list(_BOXED_START.finditer(text))
    for start in reversed(starts):
        rest = text[start.end() :]
        if rest.startswith("{"):
            content = braced_group(rest)
            if content is not None:
                return content.strip()
        elif start.group(0).endswith(" ") and rest:
            token = re.match(r"[^\s$]+", rest)
            if token:
                return token.group(0)
    return None


def gsm8k_gold(answer_field: str) -> tuple[str, str]:
    """(rationale, final answer) from a GSM8K answer field "...<<48/2=24>>24...\\n#### 72".

    The `<<...>>` calculator annotations are removed: they are not part of the reasoning a model
    should learn to write. Raises ValueError when the `####` line is missing.
    """
    head, sep, final = answer_field.rpartition("####")
    if not sep:
        raise ValueError("no '#### <final answer>' line")
    final = final.strip()
    if not final:
        raise ValueError("the '####' line is empty")
    return _CALCULATOR.sub("", head).strip(), final


def _rule_answer_line(text: str, answer_type: str, choices: Sequence[str] | None) -> str | None:
    matches = list(_ANSWER_LINE.finditer(text))
    for match in reversed(matches):  # the last answer line wins
        value = _read_value(match.group("value"), answer_type, choices, lenient=True)
        if value is not None:
            return value
    return None


def _rule_boxed(text: str, answer_type: str, choices: Sequence[str] | None) -> str | None:
    content = last_boxed(text)
    return None if content is None else _read_value(content, answer_type, choices)


def _rule_hashes(text: str, answer_type: str, choices: Sequence[str] | None) -> str | None:
    matches = list(_HASHES.finditer(text))
    if not matches:
        return None
    return _read_value(matches[-1].group("value"), answer_type, choices)


def _rule_choice(text: str, answer_type: str, choices: Sequence[str] | None) -> str | None:
    if answer_type != "choice":
        return None
    letters = [next(g for g in m.groups() if g) for m in _CHOSEN.finditer(text)]
    valid = [x.upper() for x in letters if _letter_allowed(x.upper(), choices)]
    return valid[-1] if valid else None


def _rule_last_number(text: str, answer_type: str, choices: Sequence[str] | None) -> str | None:
    if answer_type not in ("number", "math"):
        return None
    for token in reversed(numbers_in(text)):
        number = parse_number(token)
        if number is not None:
            return format_number(number)
    return None


_RULES = {
    "answer_line": _rule_answer_line,
    "boxed": _rule_boxed,
    "hashes": _rule_hashes,
    "choice": _rule_choice,
    "last_number": _rule_last_number,
}


def _read_value(
    raw: str, answer_type: str, choices: Sequence[str] | None, lenient: bool = False
) -> str | None:
    """Normalise the text after an answer marker.

    `lenient` (answer lines only) tolerates a sentence around the number: "Answer: she has 5 left".
    """
    raw = raw.strip()
    if not raw:
        return None
    value = normalize_answer(raw, answer_type)
    if answer_type == "choice":
        if value is None and choices:
            value = _letter_of_choice_text(raw, choices)
        return value if value is not None and _letter_allowed(value, choices) else None
    if value is None and lenient and answer_type == "number":
        tokens = numbers_in(_after_equals(_strip_markup(raw)))
        value = normalize_answer(tokens[0]) if tokens else None
    if value is None and answer_type == "math":
        value = normalize_answer(raw.rstrip(". "), "math")
    return value


def _letter_of_choice_text(raw: str, choices: Sequence[str]) -> str | None:
    """An answer that repeats a choice's text instead of naming its letter."""
    wanted = _normalize_string(raw)
    for i, choice in enumerate(choices):
        if wanted and _normalize_string(str(choice)) == wanted:
            return string.ascii_uppercase[i]
    return None


def _letter_allowed(letter: str, choices: Sequence[str] | None) -> bool:
    if choices is None:
        return True
    return letter in string.ascii_uppercase[: len(choices)]


def _strip_markup(value: str) -> str:
    return value.replace("**", "").replace("__", "").strip().strip("`*$ ")


def _after_equals(value: str) -> str:
    """"x = 5" answers 5: keep what follows the last equals sign."""
    return value.rpartition("=")[2] if "=" in value else value


def _normalize_math(value: str) -> str | None:
    """LaTeX answer in canonical form: numbers as numbers, otherwise a spacing-free string."""
    number = parse_number(_after_equals(value))
    if number is not None:
        return format_number(number)
    s = value.strip().strip("$").strip()
    s = re.sub(r"\\left|\\right|\\[!,;: ]|\\displaystyle", "", s)
    s = re.sub(r"\^\s*\{?\\circ\}?|°", "", s)
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", s)
    s = s.replace("\\%", "").replace("%", "")
    s = re.sub(r"\s+", "", s).rstrip(".")
    return s or None


_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def _normalize_string(value: str) -> str | None:
    """Casefolded words without punctuation or articles, single-spaced."""
    s = _ARTICLES.sub(" ", value.casefold().translate(_PUNCTUATION))
    s = " ".join(s.split())
    return s or None


def _check_type(answer_type: str) -> None:
    if answer_type not in ANSWER_TYPES:
        raise ValueError(f"answer type {answer_type!r} is not one of {', '.join(ANSWER_TYPES)}")

"""Reading numbers the way people and models write them, and writing them back canonically.

Gold answers and model outputs spell the same number many ways ("1,234", "$1 234.00", "\\frac{3}{4}",
"75%"). Everything is parsed to an exact `Fraction` so that comparison never depends on the spelling.
"""

from __future__ import annotations

import re
from fractions import Fraction

# A number token inside free text: comma-grouped or plain digits, optional decimals, or ".5".
NUMBER_IN_TEXT = re.compile(
    r"(?<![\w.])[-+\u2212]?\$?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:/\d+)?(?![\w])"
)

# Number words a model writes instead of digits ("Answer: twelve"); "twenty-one" and above are not
# read (a lone "twenty" in "twenty-five" would be wrong).
NUMBER_WORDS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
NUMBER_WORD_IN_TEXT = re.compile(
    r"(?<![-\u2010])\b(?:" + "|".join(NUMBER_WORDS) + r")\b(?![-\u2010])", re.IGNORECASE
)
_LEADING_WORD = re.compile(r"^(?:" + "|".join(NUMBER_WORDS) + r")\b(?![-\u2010])", re.IGNORECASE)
# Trailing words that make "12 apples and 4 pears", "5 or six", "12 is wrong" more than one number.
_NOT_A_UNIT = re.compile(
    r"\b(?:or|and|to|nor|but|not|no|plus|minus|times|is|was|wrong|incorrect|"
    + "|".join(NUMBER_WORDS) + r")\b|n't\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"(?:\\?%|\bper\s?cent\b)[\s.)*$`]*$", re.IGNORECASE)

_CURRENCY = re.compile(r"\\\$|[$€£¥₹]|\b(?:usd|eur|gbp)\b", re.IGNORECASE)
_TEXT_COMMAND = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{[^{}]*\}")
# Units after a number: "5 dollars", "5cm"; a single glued letter ("2x") is a variable, not a unit.
_TRAILING_WORDS = re.compile(r"(?<=[\d}.])(?:\s+[a-zA-Z]|[a-zA-Z]{2})[a-zA-Z\s.'/-]*$")
_FRAC_START = re.compile(r"^\\[dt]?frac\s*")
_MIXED = re.compile(r"^(\d+)\s+(\d+)/(\d+)$")
_SPACE_GROUPED = re.compile(r"^\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+(?:\.\d+)?$")
_COMMA_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_PLAIN = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$")


def parse_number(text: str) -> Fraction | None:
    """The exact value of one written number, or None when `text` is not (just) a number.

    Accepts units and currency around the number ("$5", "5 dollars", "5\\text{ cm}") but not other
    words, so "3 apples and 4 pears" is rejected rather than guessed.
    """
    s = _strip_decoration(text)
    if s is None or not s:
        return None
    sign = 1
    while s and s[0] in "+-":
        if s[0] == "-":
            sign = -sign
        s = _strip_currency(s[1:]).strip()
    value = _unsigned_value(s)
    return None if value is None else sign * value


def format_number(value: Fraction) -> str:
    """Canonical text: "12", "-3.5", "0.125", or a reduced fraction "1/3" when no exact decimal exists."""
    if value.denominator == 1:
        return str(value.numerator)
    places = _decimal_places(value.denominator)
    if places is None:
        return f"{value.numerator}/{value.denominator}"
    scaled = abs(value.numerator) * (10**places // value.denominator)
    digits = str(scaled).rjust(places + 1, "0")
    text = f"{digits[:-places]}.{digits[-places:]}".rstrip("0").rstrip(".")
    return f"-{text}" if value < 0 else text


def is_percent(text: str) -> bool:
    """Whether a written number ends in a percent sign or the word ("25%", "25 percent")."""
    return bool(_PERCENT.search(text.strip()))


def numbers_in(text: str) -> list[str]:
    """Every number token in free text, in order (used by the last-number fallback)."""
    return [m.group(0) for m in NUMBER_IN_TEXT.finditer(text)]


def _strip_decoration(text: str) -> str | None:
    """Remove markdown, LaTeX spacing, currency, percent signs and trailing units around a number.

    None when the trailing words are more than a unit ("12 apples and 4 pears", "5 or six").
    """
    s = text.replace("\u2212", "-").replace("\u2013", "-").strip()
    s = s.replace("**", "").replace("__", "").strip("`* ")
    s = _LEADING_WORD.sub(lambda m: str(NUMBER_WORDS[m.group(0).lower()]), s, count=1)
    s = s.strip("$").strip()  # LaTeX math delimiters; "$5" is handled as currency below
    s = re.sub(r"\\[!,;: ]|\\left|\\right|\\displaystyle", "", s).replace("{,}", ",")
    s = re.sub(r"\^\s*\{?\\circ\}?|°", "", s)
    s = _TEXT_COMMAND.sub("", s)
    s = s.rstrip(" .;:!")
    s = re.sub(r"\\?%$", "", s).strip()
    s = _strip_currency(s)
    trailing = _TRAILING_WORDS.search(s)
    if trailing:
        if _NOT_A_UNIT.search(trailing.group(0)):
            return None
        s = s[: trailing.start()]
    return s.strip().rstrip(".").strip()


def _strip_currency(s: str) -> str:
    return _CURRENCY.sub("", s).strip()


def _unsigned_value(s: str) -> Fraction | None:
    """Value of an unsigned number: plain, grouped, a/b, mixed "1 1/2" or \\frac{a}{b}."""
    if s.startswith("{") and s.endswith("}"):
        s = s[1:-1].strip()
    if _FRAC_START.match(s):
        return _frac_value(s[_FRAC_START.match(s).end() :])
    if "/" in s:
        mixed = _MIXED.match(s)
        if mixed:
            whole, num, den = (int(g) for g in mixed.groups())
            return None if den == 0 else whole + Fraction(num, den)
        top, _, bottom = s.partition("/")
        return _divide(parse_number(top), parse_number(bottom))
    if _COMMA_GROUPED.match(s) or _SPACE_GROUPED.match(s):
        s = re.sub(r"[, \u00a0\u202f\u2009]", "", s)
    if _PLAIN.match(s):
        return Fraction(s)
    return None


def _frac_value(rest: str) -> Fraction | None:
    """Value of "{a}{b}" or "ab" (single digits) after \\frac, arguments possibly nested."""
    parts = []
    for _ in range(2):
        rest = rest.lstrip()
        if rest.startswith("{"):
            group = braced_group(rest)
            if group is None:
                return None
            parts.append(group)
            rest = rest[len(group) + 2 :]
        elif rest[:1].isdigit():
            parts.append(rest[0])
            rest = rest[1:]
        else:
            return None
    if rest.strip():
        return None
    return _divide(parse_number(parts[0]), parse_number(parts[1]))


def braced_group(text: str) -> str | None:
    """Content of the brace group that opens `text` (nesting respected), or None if it never closes."""
    depth = 0
    for i, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[1:i]
    return None


def _divide(num: Fraction | None, den: Fraction | None) -> Fraction | None:
    if num is None or den is None or den == 0:
        return None
    return num / den


def _decimal_places(denominator: int) -> int | None:
    """How many decimals write 1/denominator exactly; None if it repeats forever."""
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    return max(twos, fives) if denominator == 1 else None

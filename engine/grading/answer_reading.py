"""What an answer line asserts: the value it states, never one it negates, retracts or hedges.

"Answer: not 12; it is 15" asserts 15, "Answer: 12? No, 15" asserts 15, "Answer: 5 or 6" and
"between 5 and 10" assert nothing. The text is cut into sentences and candidate values (numbers,
choice letters, inline math) are read in order; the first candidate that is neither negated,
questioned nor corrected later is the answer, unless another value stands beside it as an
alternative. Pure string work, no I/O.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

from engine.grading.numbers import NUMBER_IN_TEXT, NUMBER_WORD_IN_TEXT, parse_number


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str  # the candidate as written ("$1,234", "twelve", "25%", "B", "\\frac{1}{2}")
    key: str  # what two candidates compare on, to tell an alternative from a repetition


@dataclass(frozen=True)
class Reading:
    value: str | None  # the asserted candidate as written, None when nothing is asserted
    stated: bool  # the text offered any candidate at all (otherwise it is prose, not an answer)


NOTHING = Reading(None, False)

# Words that make an answer line more than one plain value: read it candidate by candidate.
_CUES = re.compile(
    r"\b(?:not|never|no|nope|or|and|to|nor|between|either|from|instead|rather|than|except|wait|"
    r"actually|sorry|oops|mean|correction|wrong|incorrect|maybe|perhaps|least|most|more|less|"
    r"fewer|greater|up)\b|n't\b|\?|\s[-\u2013\u2014~/]\s",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
_WORDS = r"(?:[^\s\d,;:.!?()]+\s+){0,3}"
_NEGATED_BEFORE = re.compile(
    r"(?:\b(?:not|never|neither|nor|instead\s+of|rather\s+than|other\s+than|except)\b|n't)\s+"
    + _WORDS + r"\(?\s*$",
    re.IGNORECASE,
)
_NEGATED_AFTER = re.compile(
    r"^[^\w]*(?:[A-Za-z]+\s+)?,?\s*(?:(?:which|that|it)\s+)?(?:is|was|would\s+be|seems)\s+"
    r"(?:wrong|incorrect|not\s+(?:correct|right|the\s+answer)|a\s+mistake|an\s+error)"
    r"|^[^\w]*(?:[A-Za-z]+\s+)?(?:is|was)n't\s+(?:correct|right|the\s+answer)",
    re.IGNORECASE,
)
_CORRECTION_START = re.compile(
    r"\W*(?:wait|no|nope|actually|sorry|oops|i\s+mean|correction|hmm)\b", re.IGNORECASE
)
_QUESTIONED = re.compile(r"^\s*(?:[A-Za-z]+\s*)?\?")
_CORRECTION = re.compile(
    r"\b(?:wait|no|nope|actually|sorry|oops|i\s+mean|correction|make\s+that|scratch\s+that|"
    r"rather(?!\s+than)|hmm|recheck\w*|recalculat\w*)\b",
    re.IGNORECASE,
)
# Between two candidates, they are alternatives: "5 or 6", "5 (or 6)", "12 apples or 13", "5, 6",
# "5-6", "A and B", "x = 3 or x = -3". An explanation in brackets is not: "6 (2 x 3)".
_ALTERNATIVE = re.compile(
    r"^(?:[A-Za-z]+\s)?\(?\s*(?:or|and|to|nor|maybe|perhaps|or\s+maybe|or\s+perhaps)"
    r"(?:\s+[A-Za-z]\s*=)?$"
    r"|^(?:[-\u2013\u2014~/]|\\pm|±)?$",
    re.IGNORECASE,
)
# Before the first candidate: a range ("between 5 and 10") or a bound ("at least 10"), no value.
_RANGE_BEFORE = re.compile(r"\b(?:between|either|from)\s+" + _WORDS + r"\$?\s*$", re.IGNORECASE)
_BOUND_BEFORE = re.compile(
    r"\b(?:more|less|fewer|greater)\s+than\s+$|\b(?:at\s+least|at\s+most|up\s+to)\s+$",
    re.IGNORECASE,
)
# A conclusion restates the answer after the working: "3 + 4 = 7", "3 apples and 4 more, so 7".
_CONCLUSION = re.compile(r"=|\b(?:so|therefore|thus|hence)\b", re.IGNORECASE)
# Before a conclusion, these make it one of several values: "x = 3 or x = -3", "x = 3 and y = 4".
_OFFERS_ALTERNATIVES = re.compile(
    r"\b(?:or|either|between)\b|\band\s+[A-Za-z]\s*=", re.IGNORECASE
)
_CHAINED = re.compile(r"^\s*(?:[A-Za-z]+\s+)?,?\s*(?:or|nor|and)\s+$", re.IGNORECASE)
_PERCENT_AFTER = re.compile(r"\s*(?:\\?%|per\s?cent\b)", re.IGNORECASE)
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$([^$]+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_LETTER_TOKEN = re.compile(r"\(([A-Za-z])\)|(?<![\w'’])([A-Z])(?![\w'’])")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_PROSE_WORD = re.compile(r"[A-Za-z]{3,}")


def clean(text: str) -> str:
    """Drop markdown emphasis and code marks that models put around answers."""
    return text.replace("**", "").replace("__", "").replace("`", "").strip()


def read_number(text: str) -> Reading:
    """The number an answer line asserts ("$1,234", "twelve", "25%"), as written."""
    text = clean(text)
    if not text:
        return NOTHING
    if not _CUES.search(text):
        whole = text.rpartition("=")[2] if "=" in text else text
        if parse_number(whole) is not None:
            return Reading(whole.strip(), True)
    return _read_sentences(text, _number_tokens)


def read_choice(text: str, choices: Sequence[str] | None) -> Reading:
    """The choice letter an answer line asserts; a choice's own text stands for its letter."""
    text = clean(text)
    whole = _whole_letter(text, choices)
    if whole is not None:
        return Reading(whole, True)
    return _read_sentences(text, lambda s: _letter_tokens(s, choices))


def read_math(text: str) -> Reading:
    """A math answer: its inline math spans if any, a number if it is prose, else the whole line."""
    text = clean(text)
    if not text:
        return NOTHING
    if _MATH_SPAN.search(text):
        return _read_sentences(text, _math_tokens)
    first = _SENTENCE_END.split(text)[0].rstrip(" .")
    if _CUES.search(first) or len(_PROSE_WORD.findall(_LATEX_COMMAND.sub(" ", first))) >= 2:
        return read_number(text)
    return Reading(first, bool(first))


def read_string(text: str) -> Reading:
    """A free-text answer: the first sentence, unless it is negated."""
    first = _SENTENCE_END.split(clean(text))[0].strip().rstrip(".")
    if not first:
        return NOTHING
    if re.match(r"(?:not|never)\b|(?:it\s+)?(?:is|was)n't\b", first, re.IGNORECASE):
        return Reading(None, True)
    return Reading(first, True)


def _read_sentences(text: str, tokens_of) -> Reading:
    """The asserted candidate of the first sentence that asserts one.

    Later sentences may correct it: one that opens with "Wait", "No", "Sorry, I mean" and
    asserts a value replaces it.
    """
    result = Reading(None, False)
    for sentence in _SENTENCE_END.split(text):
        sentence = _conclusion(sentence, tokens_of)
        tokens = tokens_of(sentence)
        if not tokens:
            continue
        if result.value is not None and not _CORRECTION_START.match(sentence):
            break
        alive = _alive(sentence, tokens)
        if not any(alive):
            result = Reading(result.value, True)
            continue  # everything here was negated or questioned: the correction may follow
        value = _asserted(sentence, tokens, alive)
        result = Reading(value, True)
        if value is None:
            break
    return result


def _alive(sentence: str, tokens: list[Token]) -> list[bool]:
    """For each candidate: is it still asserted (not negated, questioned or corrected later)?"""
    alive, negated = [], []
    for i, token in enumerate(tokens):
        before = sentence[tokens[i - 1].end if i else 0 : token.start]
        nxt = tokens[i + 1].start if i + 1 < len(tokens) else len(sentence)
        after = sentence[token.end : nxt]
        # "not 12 or 13": the negation covers both
        chained = bool(i and negated[-1] and _CHAINED.match(before))
        negated.append(chained or bool(_NEGATED_BEFORE.search(before)
                                       or _NEGATED_AFTER.search(after)))
        corrected = i + 1 < len(tokens) and bool(_CORRECTION.search(after))
        alive.append(not (negated[-1] or corrected or _QUESTIONED.match(after)))
    return alive


def _asserted(sentence: str, tokens: list[Token], alive: list[bool]) -> str | None:
    """The first live candidate, or None when a live alternative or a range stands beside it."""
    first = alive.index(True)
    token = tokens[first]
    others = [t for t, live in zip(tokens[first + 1 :], alive[first + 1 :]) if live]
    different = [t for t in others if t.key != token.key]
    before = sentence[: token.start]
    if _BOUND_BEFORE.search(before) or (different and _RANGE_BEFORE.search(before)):
        return None
    nxt = tokens[first + 1] if first + 1 < len(tokens) else None
    if nxt is not None and alive[first + 1] and nxt.key != token.key:
        between = re.sub(r"[,\s]+", " ", sentence[token.end : nxt.start]).strip()
        if _ALTERNATIVE.match(between):
            return None
    return token.text


def _conclusion(sentence: str, tokens_of) -> str:
    """The part after the last "=" or "so"/"therefore" when it asserts a candidate, else all.

    Not after alternatives: "x = 3 or x = -3" and "x = 3 and y = 4" conclude nothing; nor when
    the conclusion only negates: "30, so not 12" asserts 30.
    """
    cues = list(_CONCLUSION.finditer(sentence))
    if not cues or _OFFERS_ALTERNATIVES.search(sentence, 0, cues[-1].end()):
        return sentence
    rest = sentence[cues[-1].end() :]
    tokens = tokens_of(rest)
    return rest if tokens and any(_alive(rest, tokens)) else sentence


def _number_tokens(sentence: str) -> list[Token]:
    """Numbers in digits, or number words when the sentence has no digits ("Answer: twelve")."""
    found = [(m.start(), m.end()) for m in NUMBER_IN_TEXT.finditer(sentence)]
    if not found:
        found = [(m.start(), m.end()) for m in NUMBER_WORD_IN_TEXT.finditer(sentence)]
    tokens = []
    for start, end in found:
        percent = _PERCENT_AFTER.match(sentence, end)
        end = percent.end() if percent else end
        text = sentence[start:end]
        value = parse_number(text)
        if value is not None:
            tokens.append(Token(start, end, text, str(value)))
    return tokens


def _letter_tokens(sentence: str, choices: Sequence[str] | None) -> list[Token]:
    tokens = []
    for match in _LETTER_TOKEN.finditer(sentence):
        letter = (match.group(1) or match.group(2)).upper()
        pronoun = match.group(2) == "I" and (choices is None or len(choices) < 9)
        if letter_allowed(letter, choices) and not pronoun:
            tokens.append(Token(match.start(), match.end(), letter, letter))
    return tokens


def _math_tokens(sentence: str) -> list[Token]:
    tokens = []
    for match in _MATH_SPAN.finditer(sentence):
        content = next(g for g in match.groups() if g is not None).strip()
        if content:
            tokens.append(Token(match.start(), match.end(), content, re.sub(r"\s+", "", content)))
    return tokens


_LETTER = re.compile(r"^\(?\s*([A-Za-z])\s*(?:\)|\]|[.:,]|$)")


def letter_of(value: str) -> str | None:
    """"B", "(b)", "C.", "D) 12" name a choice letter; "a big one" does not."""
    match = _LETTER.match(clean(value).strip("*$ "))
    return match.group(1).upper() if match else None


def letter_allowed(letter: str, choices: Sequence[str] | None) -> bool:
    if choices is None:
        return True
    return letter in string.ascii_uppercase[: len(choices)]


def _whole_letter(text: str, choices: Sequence[str] | None) -> str | None:
    letter = letter_of(text)
    if letter is not None and letter_allowed(letter, choices) and not _CUES.search(text):
        return letter
    if choices:
        wanted = normalize_words(text)
        for i, choice in enumerate(choices):
            if wanted and normalize_words(str(choice)) == wanted:
                return string.ascii_uppercase[i]
    return None


_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_words(value: str) -> str | None:
    """Casefolded words without punctuation or articles, single-spaced."""
    s = _ARTICLES.sub(" ", value.casefold().translate(_PUNCTUATION))
    s = " ".join(s.split())
    return s or None

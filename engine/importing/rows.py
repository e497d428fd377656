"""Turning one raw record into a ParsedExample, or a BadRow that says what is wrong with it."""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, replace

from engine.grading.answers import gsm8k_gold, last_boxed, normalize_answer
from engine.importing.model import BadRow, ColumnMapping, ParsedExample, content_id
from engine.importing.readers import RawRow
from engine.importing.splits import split_name

LETTERS = string.ascii_uppercase
# A row longer than this is almost surely a mistake (a whole document in a cell, a broken quote
# that swallowed the file): about 25k tokens, beyond what students are trained on.
DEFAULT_MAX_ROW_CHARS = 100_000
_TYPE_NOUN = {"number": "a number", "choice": "a choice letter", "math": "an answer", "string": "an answer"}


class RowError(Exception):
    """What is wrong with one row; becomes a BadRow."""


@dataclass
class RowContext:
    mapping: ColumnMapping
    answer_type: str
    split: str  # the split for rows that do not name their own
    gsm8k: bool = False  # answers are GSM8K fields: rationale, then "#### final"
    max_row_chars: int = DEFAULT_MAX_ROW_CHARS  # 0: no limit


def to_example(row: RawRow, ctx: RowContext) -> ParsedExample | BadRow:
    """One record as an example, or a BadRow naming the field at fault."""
    try:
        return _build(row, ctx)
    except RowError as exc:
        return BadRow(row.position, str(exc), row.where)


# Free text (translation, summarisation): a source and its reference, under these names when
# the file has no question/answer fields.
TEXT_FIELDS = {"question": "source", "answer": "reference"}


def _build(row: RawRow, ctx: RowContext) -> ParsedExample:
    record, mapping = row.record, ctx.mapping
    if ctx.answer_type == "text":
        mapping = _source_reference(record, mapping)
    question = _question(record, mapping)
    raw_answer = _text(_field(record, mapping.answer), mapping.answer)
    rationale = None
    if ctx.gsm8k:
        try:
            rationale, raw_answer = gsm8k_gold(raw_answer)
        except ValueError as exc:
            raise RowError(f"field '{mapping.answer}': {exc}") from exc
    elif "\\boxed" in raw_answer or "\\fbox" in raw_answer:
        rationale, raw_answer = raw_answer, _boxed(raw_answer, mapping.answer)
    if mapping.rationale:
        rationale = _optional_text(_field(record, mapping.rationale)) or rationale
    choices = _choices(_field(record, mapping.choices), mapping.choices) if mapping.choices else None
    if ctx.answer_type == "choice":
        answer = _choice_answer(raw_answer, choices)
    else:
        answer = _normalised(raw_answer, ctx.answer_type)
    if choices:
        question += "\n\n" + "\n".join(f"({LETTERS[i]}) {c}" for i, c in enumerate(choices))
    _check_size(ctx.max_row_chars, question, raw_answer, rationale)
    ext_id = _text(_field(record, mapping.id), mapping.id) if mapping.id else content_id(question, raw_answer)
    return ParsedExample(
        ext_id=ext_id,
        split=_split(record, mapping, row.split or ctx.split),
        question=question,
        answer=answer,
        answer_raw=raw_answer,
        rationale=rationale or None,
        choices=choices,
        category=_optional_text(_field(record, mapping.category)) if mapping.category else None,
        position=row.position,
    )


def _source_reference(record: dict, mapping: ColumnMapping) -> ColumnMapping:
    """question/answer read from source/reference where a free-text record has those instead."""
    changes = {field: alias for field, alias in TEXT_FIELDS.items()
               if getattr(mapping, field) == field and field not in record and alias in record}
    return replace(mapping, **changes) if changes else mapping


def _check_size(limit: int, *texts: str | None) -> None:
    size = sum(len(text) for text in texts if text)
    if limit and size > limit:
        raise RowError(f"the row holds {size:,} characters, over the limit of {limit:,} "
                       f"(--max-row-chars N raises it, 0 turns it off)")


def _question(record: dict, mapping: ColumnMapping) -> str:
    parts = [_optional_text(_field(record, name)) for name in mapping.question_fields()]
    question = "\n\n".join(p for p in parts if p)
    if not question:
        raise RowError(f"question is empty (field {', '.join(map(repr, mapping.question_fields()))})")
    return question


def _field(record: dict, name: str):
    if name not in record:
        fields = ", ".join(map(str, record)) or "none"
        raise RowError(f"field '{name}' is missing (fields: {fields})")
    return record[name]


def _text(value, name: str) -> str:
    text = _optional_text(value)
    if not text:
        raise RowError(f"field '{name}' is empty")
    return text


def _optional_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _boxed(text: str, name: str) -> str:
    boxed = last_boxed(text)
    if not boxed:
        raise RowError(f"field '{name}': \\boxed{{...}} is empty or never closed")
    return boxed


def _normalised(raw: str, answer_type: str) -> str:
    if answer_type == "text":  # a reference text, compared by chrF or ROUGE-L, never normalised
        return raw
    value = normalize_answer(raw, answer_type)
    if value is None:
        raise RowError(f"answer {_short(raw)} is not {_TYPE_NOUN[answer_type]}")
    return value


def _choices(value, name: str) -> list[str]:
    """A list, a {"label": [...], "text": [...]} or {"A": ..., "B": ...} dict, or either as JSON."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RowError(f"field '{name}' is not a JSON list or object ({exc.msg})") from exc
    if isinstance(value, dict) and "text" in value:
        labels = value.get("label") or list(range(len(value["text"])))
        value = [text for _, text in sorted(zip(labels, value["text"]))]
    elif isinstance(value, dict):
        value = [value[key] for key in sorted(value)]
    if not isinstance(value, (list, tuple)) or not value:
        raise RowError(f"field '{name}' holds no choices")
    if len(value) > len(LETTERS):
        raise RowError(f"field '{name}' has {len(value)} choices; at most {len(LETTERS)} are supported")
    return [str(c).strip() for c in value]


def _choice_answer(raw: str, choices: list[str] | None) -> str:
    """The answer as a letter: given as a letter, or as a 0-based index into the choices."""
    if raw.lstrip("-").isdigit():
        if choices is None:
            raise RowError(f"answer {_short(raw)} is an index but no choices column is mapped")
        index = int(raw)
        if not 0 <= index < len(choices):
            raise RowError(f"choice index {index} is out of range ({len(choices)} choices)")
        return LETTERS[index]
    letter = _normalised(raw, "choice")
    if choices is not None and letter not in LETTERS[: len(choices)]:
        raise RowError(f"answer {letter!r} is not one of the {len(choices)} choices")
    return letter


def _split(record: dict, mapping: ColumnMapping, default: str) -> str:
    if not mapping.split:
        return default
    value = _text(_field(record, mapping.split), mapping.split)
    split = split_name(value)
    if split is None:
        raise RowError(f"split {_short(value)} is not train, val/validation/dev or test")
    return split


def _short(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")

"""The records parsers produce: examples ready for the store, and the rows that could not be read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from store.errors import UndoError

MAX_LISTED_BAD_ROWS = 50


@dataclass
class ParsedExample:
    ext_id: str  # the source's id, else a content hash: re-importing never duplicates
    split: str  # "train" | "val" | "test"
    question: str
    answer: str  # normalised gold answer
    answer_raw: str  # the gold answer as written in the source
    rationale: str | None = None
    choices: list[str] | None = None
    category: str | None = None
    position: int = 0  # 1-based line (JSONL/CSV) or row number in the source


@dataclass
class BadRow:
    line: int
    reason: str
    where: str = "line"  # "line" for text formats, "row" for JSON lists, Parquet, HF datasets

    def __str__(self) -> str:
        return f"{self.where} {self.line}: {self.reason}"


@dataclass
class ParseResult:
    examples: list[ParsedExample]
    skipped: list[BadRow] = field(default_factory=list)
    duplicates: int = 0  # exact repeats (same question and answer, no id column) dropped
    id_field: str | None = None  # the field the example ids came from (given, or id-like)


@dataclass
class ColumnMapping:
    """Which source fields hold what. A list of question fields is joined with a blank line."""

    question: str | list[str] = "question"
    answer: str = "answer"
    rationale: str | None = None
    choices: str | None = None
    id: str | None = None
    category: str | None = None
    split: str | None = None

    def question_fields(self) -> list[str]:
        return [self.question] if isinstance(self.question, str) else list(self.question)


class ImportFailed(UndoError):
    """A source could not be imported; nothing was written."""

    def __init__(self, message: str, bad_rows: list[BadRow] | None = None):
        super().__init__(message)
        self.bad_rows = bad_rows or []  # every bad row, also those left out of the message

    @classmethod
    def for_rows(cls, source: str, bad: list[BadRow], *, good: int = 1,
                 hints: list[str] | None = None) -> "ImportFailed":
        """One message naming every bad row (the first 50, then how many more); --skip-bad is
        suggested only when some rows (`good`) would be imported with it."""
        lines = [f"{source}: {len(bad)} bad row(s), nothing imported:"]
        lines += [f"  {source}, {row}" for row in bad[:MAX_LISTED_BAD_ROWS]]
        if len(bad) > MAX_LISTED_BAD_ROWS:
            lines.append(f"  ... and {len(bad) - MAX_LISTED_BAD_ROWS} more")
        lines += hints or []
        if good:
            lines.append("Fix them, or pass --skip-bad to import the good rows only.")
        else:
            lines.append("No row can be imported as it is (so --skip-bad would import nothing).")
        return cls("\n".join(lines), bad)


def content_id(question: str, answer: str) -> str:
    """Stable id for sources without one: sha1 of question + unit separator + gold answer."""
    return hashlib.sha1(f"{question}\x1f{answer}".encode()).hexdigest()

"""Guessing a source's field mapping from its field names, for messages and the default id.

When the mapped fields are missing from every row, the import fails once with the fields it found
and a command line that maps them (`--question Body,Question --answer Answer --id ID`), instead
of one "field is missing" line per row. An id-like field is used as the example id by default.
"""

from __future__ import annotations

from collections.abc import Iterable

# Lower-cased names, most likely first. Context-like fields come before the question itself.
CONTEXT_NAMES = ("body", "context", "passage", "story", "background")
QUESTION_NAMES = ("question", "problem", "query", "prompt", "instruction", "input")
ANSWER_NAMES = ("answer", "final_answer", "answers", "label", "target", "output", "solution",
                "result", "gold")
ID_NAMES = ("id", "_id", "qid", "uid", "idx", "question_id", "example_id", "problem_id")
RATIONALE_NAMES = ("rationale", "explanation", "reasoning", "chain_of_thought", "cot")
CHOICE_NAMES = ("choices", "options")
CATEGORY_NAMES = ("category", "type", "subject", "topic")

FLAGS = (("question", "--question"), ("answer", "--answer"), ("id", "--id"),
         ("rationale", "--rationale"), ("choices", "--choices"), ("category", "--category"))


def id_field(fields: Iterable[str]) -> str | None:
    """The first field whose name says it is an id (id, ID, qid, question_id, ...), if any."""
    return _first(list(fields), ID_NAMES)


def guess_mapping(fields: Iterable[str]) -> dict[str, str]:
    """flag name -> field(s), for the fields these names suggest (question may join several)."""
    fields = list(fields)
    guess: dict[str, str] = {}
    question = [f for f in (_first(fields, CONTEXT_NAMES), _first(fields, QUESTION_NAMES)) if f]
    if question:
        guess["question"] = ",".join(question)
    used = set(question)
    for key, names in (("answer", ANSWER_NAMES), ("id", ID_NAMES),
                       ("rationale", RATIONALE_NAMES), ("choices", CHOICE_NAMES),
                       ("category", CATEGORY_NAMES)):
        found = _first([f for f in fields if f not in used], names)
        if found:
            guess[key] = found
            used.add(found)
    return guess


def mapping_flags(guess: dict[str, str]) -> str:
    return " ".join(f"{flag} {guess[key]}" for key, flag in FLAGS if key in guess)


def unmapped_message(source: str, path_name: str, dataset: str | None, absent: list[str],
                     fields: list[str]) -> str:
    """One message for mapped fields that no row has: what the rows hold, and a command line."""
    what = ", ".join(repr(f) for f in absent)
    found = ", ".join(map(str, fields)) or "none"
    lines = [f"{source}: no row has the field(s) {what} (fields found: {found})."]
    guess = guess_mapping(fields)
    if "question" in guess and "answer" in guess:
        lines.append("Map the fields, e.g.:")
        lines.append(f"  undo-tui import {path_name} --dataset {dataset or 'NAME'} "
                     f"{mapping_flags(guess)}")
    else:
        lines.append("Name the fields with --question FIELD[,FIELD2] and --answer FIELD.")
    return "\n".join(lines)


def _first(fields: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {str(f).lower(): f for f in reversed(fields)}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None

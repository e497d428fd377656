"""TRL's conversational language-modeling form: {"messages": [user, assistant]} per JSONL line.

SFTTrainer applies the student's chat template to `messages`; the provenance columns ride along
as extra top-level keys (trainers ignore columns they do not use).
"""

from __future__ import annotations

from engine.export.formats.base import Format
from engine.export.formats.chat import assistant_turn, content_of, user_turn
from engine.export.rows import provenance


def to_row(record: dict) -> dict:
    messages = [user_turn(record["question"]), assistant_turn(record["rationale"])]
    return {"messages": messages, **provenance(record)}


def from_row(row: dict) -> dict:
    messages = row.get("messages")
    return {**_rest(row), "question": content_of(messages, "user", "messages"),
            "rationale": content_of(messages, "assistant", "messages")}


def _rest(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "messages"}


FORMAT = Format("trl-messages", "jsonl", ".jsonl", to_row, from_row,
                "JSONL, TRL conversational: messages = [user question, assistant rationale]")

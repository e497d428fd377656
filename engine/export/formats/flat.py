"""The flat table shared by the hf and Parquet formats: every record column plus `messages`.

`messages` makes the table trainable by TRL as is; question/rationale keep it easy to query.
"""

from __future__ import annotations

from engine.export.formats.chat import assistant_turn, content_of, user_turn
from engine.export.rows import COLUMNS


def to_row(record: dict) -> dict:
    row = {name: record.get(name) for name in COLUMNS}
    row["messages"] = [user_turn(record["question"]), assistant_turn(record["rationale"])]
    return row


def from_row(row: dict) -> dict:
    record = {k: v for k, v in row.items() if k != "messages"}
    if not isinstance(record.get("question"), str) and "messages" in row:
        record["question"] = content_of(row["messages"], "user", "messages")
    if not isinstance(record.get("rationale"), str) and "messages" in row:
        record["rationale"] = content_of(row["messages"], "assistant", "messages")
    for name in ("question", "rationale"):
        if not isinstance(record.get(name), str):
            raise ValueError(f"{name}: missing or not text")
    return record

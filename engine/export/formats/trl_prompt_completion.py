"""TRL's prompt-completion type in its conversational form, one JSONL line per example:
{"prompt": [{"role": "user", ...}], "completion": [{"role": "assistant", ...}]}.

The conversational form (not plain strings) is chosen because the students here are chat models:
SFTTrainer applies the chat template to it, and with prompt-completion data it computes the loss
on the completion only, which is how the UNDO loop trains.
"""

from __future__ import annotations

from engine.export.formats.base import Format
from engine.export.formats.chat import assistant_turn, content_of, user_turn
from engine.export.rows import provenance


def to_row(record: dict) -> dict:
    return {"prompt": [user_turn(record["question"])],
            "completion": [assistant_turn(record["rationale"])], **provenance(record)}


def from_row(row: dict) -> dict:
    prompt, completion = row.get("prompt"), row.get("completion")
    rest = {k: v for k, v in row.items() if k not in ("prompt", "completion")}
    if isinstance(prompt, str) and isinstance(completion, str):  # TRL's standard (plain) form
        return {**rest, "question": prompt, "rationale": completion}
    return {**rest, "question": content_of(prompt, "user", "prompt"),
            "rationale": content_of(completion, "assistant", "completion")}


FORMAT = Format("trl-prompt-completion", "jsonl", ".jsonl", to_row, from_row,
                "JSONL, TRL conversational prompt/completion (completion-only loss)")

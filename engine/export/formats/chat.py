"""The one user turn + one assistant turn every conversational format is built from."""

from __future__ import annotations


def user_turn(question: str) -> dict:
    return {"role": "user", "content": question}


def assistant_turn(rationale: str) -> dict:
    return {"role": "assistant", "content": rationale}


def content_of(messages, role: str, field: str) -> str:
    """The content of the first `role` message, or a ValueError naming the field."""
    if not isinstance(messages, list):
        raise ValueError(f"{field}: expected a list of messages")
    for message in messages:
        if isinstance(message, dict) and message.get("role") == role:
            content = message.get("content")
            if isinstance(content, str):
                return content
            raise ValueError(f"{field}: the {role} message has no text content")
    raise ValueError(f"{field}: no {role} message")

"""The one place that turns a question into the student's prompt, for training and evaluation alike.

If training and evaluation formatted prompts differently (a stray space, a missing system line,
a different tokenisation boundary), the student would be graded on a prompt it never learned from.
Both sides therefore call `prompt_token_ids`, and training appends the completion's ids after it
instead of re-tokenising the concatenated text.
"""

from __future__ import annotations

from typing import Sequence, Union

Message = dict
Question = Union[str, Sequence[Message]]

# Used only by tokenizers without a chat template (base models).
PLAIN_TEMPLATE = "{system}Question: {question}\nAnswer step by step, then end with 'Answer: N'.\n"


def to_messages(question: Question, system: str | None = None) -> list[Message]:
    """A question string becomes one user turn; a message list is kept, with `system` prepended
    unless it already starts with a system turn."""
    if isinstance(question, str):
        messages = [{"role": "user", "content": question}]
    else:
        messages = [dict(message) for message in question]
        if not messages:
            raise ValueError("prompt: empty message list")
    if system is not None and messages[0].get("role") != "system":
        messages.insert(0, {"role": "system", "content": system})
    return messages


def build_prompt(question: Question, tokenizer, system: str | None = None) -> str:
    """The prompt text the student sees, ending where its answer starts (generation prompt added)."""
    messages = to_messages(question, system)
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return _plain_prompt(messages)


def _plain_prompt(messages: list[Message]) -> str:
    system = "".join(m["content"] + "\n\n" for m in messages if m.get("role") == "system")
    turns = "\n".join(m["content"] for m in messages if m.get("role") != "system")
    return PLAIN_TEMPLATE.format(system=system, question=turns)


def prompt_token_ids(question: Question, tokenizer, system: str | None = None) -> list[int]:
    """Token ids of `build_prompt`. The chat template already holds the special tokens, so none are
    added; a plain-template prompt gets the tokenizer's BOS the usual way."""
    text = build_prompt(question, tokenizer, system)
    add_special = not getattr(tokenizer, "chat_template", None)
    return tokenizer(text, add_special_tokens=add_special)["input_ids"]


def completion_token_ids(completion: str, tokenizer) -> list[int]:
    """The completion's ids followed by EOS, so the student learns to stop where generation stops."""
    ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        ids = ids + [tokenizer.eos_token_id]
    return ids

"""LLaMA-Factory's sharegpt SFT form: a JSON list of {"conversations": [{"from", "value"}, ...]}.

Human turns sit at odd positions and gpt turns at even ones, as its data/README.md requires.
"""

from __future__ import annotations

from engine.export.formats.base import Format
from engine.export.rows import provenance

USER, ASSISTANT = "human", "gpt"


def to_row(record: dict) -> dict:
    conversations = [{"from": USER, "value": record["question"]},
                     {"from": ASSISTANT, "value": record["rationale"]}]
    return {"conversations": conversations, **provenance(record)}


def from_row(row: dict) -> dict:
    turns = row.get("conversations")
    if not isinstance(turns, list):
        raise ValueError("conversations: expected a list of turns")
    question = _first(turns, USER)
    rationale = _first(turns, ASSISTANT)
    rest = {k: v for k, v in row.items() if k != "conversations"}
    return {**rest, "question": question, "rationale": rationale}


def _first(turns: list, speaker: str) -> str:
    for turn in turns:
        if not isinstance(turn, dict) or turn.get("from") != speaker:
            continue
        if isinstance(turn.get("value"), str):
            return turn["value"]
    raise ValueError(f"conversations: no {speaker!r} turn with text")


def dataset_info_entry(file_name: str) -> dict:
    """The dataset_info.json description for this shape; the tags spell out the defaults."""
    return {"file_name": file_name, "formatting": "sharegpt",
            "columns": {"messages": "conversations"},
            "tags": {"role_tag": "from", "content_tag": "value", "user_tag": USER,
                     "assistant_tag": ASSISTANT}}


FORMAT = Format("llamafactory-sharegpt", "json", ".json", to_row, from_row,
                "LLaMA-Factory sharegpt JSON + dataset_info.json entry",
                dataset_info_entry=dataset_info_entry)

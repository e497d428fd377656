"""LLaMA-Factory's alpaca SFT form: a JSON list of {"instruction", "input", "output"} objects.

The question is the instruction and `input` is empty (LLaMA-Factory joins them as
"instruction\\ninput" only when input is non-empty). Provenance keys are extra columns, which
LLaMA-Factory drops when it aligns the dataset.
"""

from __future__ import annotations

from engine.export.formats.base import Format
from engine.export.rows import provenance


def to_row(record: dict) -> dict:
    return {"instruction": record["question"], "input": "", "output": record["rationale"],
            **provenance(record)}


def from_row(row: dict) -> dict:
    instruction, extra, output = row.get("instruction"), row.get("input") or "", row.get("output")
    if not isinstance(instruction, str) or not isinstance(output, str):
        raise ValueError("instruction/output: missing or not text")
    question = f"{instruction}\n{extra}" if extra else instruction
    rest = {k: v for k, v in row.items() if k not in ("instruction", "input", "output")}
    return {**rest, "question": question, "rationale": output}


def dataset_info_entry(file_name: str) -> dict:
    """The dataset_info.json description LLaMA-Factory's data/README.md gives for this shape.

    When `columns` is present every column not named there is unset, so all three are named.
    """
    return {"file_name": file_name, "formatting": "alpaca",
            "columns": {"prompt": "instruction", "query": "input", "response": "output"}}


FORMAT = Format("llamafactory-alpaca", "json", ".json", to_row, from_row,
                "LLaMA-Factory alpaca JSON + dataset_info.json entry",
                dataset_info_entry=dataset_info_entry)

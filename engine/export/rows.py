"""The flat export record: one example with the rationale chosen for it, plus its provenance.

Every format is built from these records and read back into them, so a transfer run or a re-import
sees the same fields whatever format the data travelled in.
"""

from __future__ import annotations

from store.models import Example, Rationale

# The text a trainer learns from.
TEXT_COLUMNS = ("question", "rationale")
# Everything else: where the row came from, and the gold answer (kept so a round trip can grade).
PROVENANCE_COLUMNS = ("ext_id", "dataset", "split", "answer", "answer_raw", "choices", "category",
                      "run_id", "iteration", "rationale_id", "rationale_source", "correct",
                      "template", "prompt_hash")
COLUMNS = TEXT_COLUMNS + PROVENANCE_COLUMNS


def export_record(example: Example, rationale: Rationale, dataset_name: str | None) -> dict:
    """The record for one example and the rationale version chosen for it."""
    return {
        "question": example.question,
        "rationale": rationale.text,
        "ext_id": example.ext_id,
        "dataset": dataset_name,
        "split": example.split,
        "answer": example.answer,
        "answer_raw": example.answer_raw,
        "choices": example.choices,
        "category": example.category,
        "run_id": rationale.run_id,
        "iteration": rationale.iteration,
        "rationale_id": rationale.id,
        "rationale_source": rationale.source,
        "correct": rationale.correct,
        "template": rationale.template,
        "prompt_hash": rationale.prompt_hash,
    }


def provenance(record: dict) -> dict:
    """The provenance columns of a record, in a fixed order (missing ones are None)."""
    return {name: record.get(name) for name in PROVENANCE_COLUMNS}

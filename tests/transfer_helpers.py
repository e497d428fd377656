"""A small source store for transfer tests, built through the store API (no teacher needed).

Dataset "arith" (8 train, 6 val, 2 test arithmetic problems) and one finished UNDO run "undo-src"
whose config is a valid run config: iteration 1 has initial rationales (6 of 8 kept), iteration 2
refined ones (all kept, parent = the initial version), best iteration 2.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import store
from engine.config import config_from_dict
from engine.tasks.arith import generate_problems
from store.rationales import NewRationale

N_TRAIN, N_VAL, N_TEST = 8, 6, 2


def source_config(student: str = "smollm2") -> dict:
    return config_from_dict({
        "run": {"name": "undo-src", "seed": 0},
        "dataset": {"name": "arith", "test_split": "test"},
        "teacher": {"backend": "llamacpp", "model": "smollm2", "max_tokens": 80},
        "student": {"model": student},
        "training": {"epochs": 2, "batch_size": 4, "lr": 5e-3, "dtype": "float32",
                     "max_length": 256, "lora_r": 8},
        "evaluation": {"max_new_tokens": 12, "dtype": "float32", "batch_size": 8},
        "loop": {"max_iterations": 2, "delta": 0.0, "keep": "all"},
    }, source="test source config").model_dump(mode="json")


def build_source_store(path: Path) -> dict:
    """The store described above; returns the ids tests refer to."""
    db = store.open_store(path)
    try:
        dataset = store.get_or_create_dataset(db, "arith", "number", "builtin:arith")
        rows = []
        for i, problem in enumerate(generate_problems(N_TRAIN + N_VAL + N_TEST, 1, seed=3)):
            row = dataclasses.asdict(problem)
            row["split"] = ("train" if i < N_TRAIN else "val" if i < N_TRAIN + N_VAL
                            else "test")
            rows.append(row)
        store.add_examples(db, dataset, rows)
        train = store.load_examples(db, dataset, "train")
        run = store.create_run(db, "undo-src", source_config(), dataset_id=dataset,
                               teacher="llamacpp:smollm2", student="smollm2")
        for i, example in enumerate(train):
            kept = i < 6
            store.add_rationales(db, [NewRationale(
                example.id, run, 1, "teacher_initial",
                f"First try for {example.ext_id}.\nAnswer: {example.answer}",
                template="initial.v1", prompt_hash=f"h1-{i}", answer=example.answer,
                correct=kept, kept=kept)])
            parent = store.rationales_for_iteration(db, run, 1)[i]
            store.add_rationales(db, [NewRationale(
                example.id, run, 2, "teacher_refined",
                f"{example.rationale}", parent_id=parent.id, template="refine_answer_only.v1",
                prompt_hash=f"h2-{i}", answer=example.answer, correct=True, kept=True)])
        for k, (val, test) in enumerate(((0.0, 0.0), (1 / 6, 0.0), (2 / 6, 0.5))):
            store.upsert_iteration(db, run, k, status="done", val_accuracy=val,
                                   test_accuracy=test, train_size=None if k == 0 else 6 + k)
        store.mark_best_iteration(db, run, 2)
        store.update_run(db, run, status="finished", stop_reason="reached the iteration cap (2)")
        return {"dataset": dataset, "run": run, "train_ids": [e.id for e in train]}
    finally:
        db.close()

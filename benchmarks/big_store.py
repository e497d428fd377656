"""A store like a long UNDO run's, at any size: the TUI benchmark's 100k-example store.

Built through the store API in bulk: examples (every question says "from a friend"; about one
in 1000 names Zelda), one rationale per example per iteration, one prediction per example per
evaluation, with accuracy rising by iteration as LEVELS says.
"""

from __future__ import annotations

import random
from pathlib import Path

import store
from store.predictions import NewPrediction
from store.rationales import NewRationale

NAMES = ["Tom", "Ann", "Raj", "Mia", "Olu", "Kim", "Lee", "Sam", "Ada", "Bo", "Eve", "Ian",
         "Noor", "Ravi", "Lena", "Omar"]
OBJECTS = ["apples", "pencils", "marbles", "stickers", "books", "coins", "cookies", "cards",
           "shells", "stamps"]
RARE = "Zelda"  # about 1 question in 1000
LEVELS = [0.15, 0.35, 0.45, 0.5, 0.52]  # accuracy by iteration 0..4 (0 = base student)
BATCH = 20_000


def _question(rng: random.Random, i: int) -> tuple[str, int]:
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    name = RARE if i % 1000 == 7 else rng.choice(NAMES)
    return (f"{name} has {a} {rng.choice(OBJECTS)} and gets {b} more from a friend. "
            f"How many does {name} have now?", a + b)


def build_store(path: Path, n_examples: int, iterations: int = 4, seed: int = 0) -> dict:
    """A store like a long UNDO run's: rationales per iteration, predictions per evaluation."""
    rng = random.Random(seed)
    db = store.open_store(path)
    rows = 0
    try:
        dataset = store.get_or_create_dataset(db, "bench", "number", "synthetic")
        examples = []
        for i in range(n_examples):
            split = "train" if i < n_examples * 0.9 else ("val" if i < n_examples * 0.95
                                                          else "test")
            text, answer = _question(rng, i)
            examples.append(dict(ext_id=str(i), split=split, question=text, answer=str(answer)))
        for start in range(0, len(examples), BATCH):
            rows += store.add_examples(db, dataset, examples[start:start + BATCH])
        stored = db.execute("SELECT id, split, answer FROM examples WHERE dataset_id = ? "
                            "ORDER BY id", [dataset]).fetchall()
        run = store.create_run(db, "bench-undo", {}, dataset_id=dataset, teacher="bench-teacher",
                               student="bench-student")
        difficulty = {eid: rng.random() for eid, _, _ in stored}
        for k in range(iterations + 1):
            level = LEVELS[min(k, len(LEVELS) - 1)]
            batch = []
            for eid, split, answer in stored:
                right = difficulty[eid] < level + rng.uniform(-0.1, 0.1)
                given = answer if right else str(int(answer) + rng.randint(1, 9))
                batch.append(NewPrediction(run, k, split, eid, f"Let me add.\nAnswer: {given}",
                                           right, answer=given, has_answer_line=k > 0 or right))
                if len(batch) == BATCH:
                    rows += store.add_predictions(db, batch)
                    batch = []
            rows += store.add_predictions(db, batch)
            if k == 0:
                continue
            batch = []
            for eid, split, answer in stored:
                name, obj = rng.choice(NAMES), rng.choice(OBJECTS)
                source = "teacher_initial" if k == 1 else "teacher_refined"
                text = (f"Step 1: {name} starts with some {obj}. Step 2: add what the friend "
                        f"gives. Iteration {k} explanation. Answer: {answer}")
                batch.append(NewRationale(eid, run, k, source, text, answer=answer, correct=True,
                                          kept=True))
                if len(batch) == BATCH:
                    rows += store.add_rationales(db, batch)
                    batch = []
            rows += store.add_rationales(db, batch)
            store.upsert_iteration(db, run, k, status="done", val_accuracy=level)
        store.upsert_iteration(db, run, 0, status="done", val_accuracy=LEVELS[0])
        store.update_run(db, run, status="finished")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return {"run": run, "rows": rows, "iterations": iterations}

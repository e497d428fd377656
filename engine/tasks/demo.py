"""The demo's task: which built-in arithmetic problems `undo-tui demo` imports, imported once."""

from __future__ import annotations

import store
from store.errors import UndoError

DEMO_DATASET = "arith-demo"
# 300 seeded problems, two thirds one-step and one third two-step (a 135M teacher solves about a
# fifth of the one-step ones and almost none of the rest); 120 validation and 30 test carved out.
DEMO_IMPORT = {"n": 300, "levels": (1, 1, 2), "seed": 0, "val_size": 120, "test_size": 30}


def ensure_dataset(db, name: str, source: str):
    """Import the demo task when `name` is the demo dataset and it is absent.

    Returns the import summary, or None when the dataset was already there. Any other missing
    dataset is an error (naming `source`, the config) that says how to import it.
    """
    from engine.importing.pipeline import import_builtin

    if any(d.name == name for d in store.list_datasets(db)):
        return None
    if name != DEMO_DATASET:
        raise UndoError(f"{source}: dataset {name!r} is not in this store; import it first "
                        f"(undo-tui import --help), or use dataset.name = {DEMO_DATASET!r}")
    spec = DEMO_IMPORT
    return import_builtin(db, "arith", name, spec["n"], list(spec["levels"]), spec["seed"],
                          val_size=spec["val_size"], test_size=spec["test_size"])

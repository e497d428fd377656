"""The equal-budget baseline: standard distillation trained for as many epochs as an UNDO run.

It reuses the UNDO run's config, so its iteration-1 teacher pass is served entirely from the
teacher cache (same model, prompts and sampling) and costs nothing. Each later iteration
continues training on that same iteration-1 data for another `epochs`, so baseline iteration k
has seen the same number of epochs as UNDO iteration k: the two compare per iteration.
"""

from __future__ import annotations

import store
from engine.config import RunConfig, config_from_dict, upgrade
from store.errors import UndoError


def baseline_config(db, source_run_id: int) -> RunConfig:
    source = store.get_run(db, source_run_id)
    if source.kind != "undo":
        raise UndoError(f"run {source_run_id} is a {source.kind} run; a baseline needs an undo run")
    iterations = [it.k for it in store.list_iterations(db, source_run_id) if it.k >= 1]
    data = upgrade(source.config)
    data["run"]["name"] = f"{source.name}-baseline"
    data["run"]["kind"] = "baseline"
    data["loop"]["max_iterations"] = max(iterations) if iterations else data["loop"]["max_iterations"]
    data["loop"]["init"] = "continue"
    data["evaluation"]["evaluate_train"] = False
    return config_from_dict(data, source=f"baseline of run {source_run_id}")

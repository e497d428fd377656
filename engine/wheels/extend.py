"""`undo-tui wheels add RUN`: more points for a sweep that exists, e.g. a student trained to ask
after the baselines were measured, without measuring the baselines again.

The new points are appended after the existing ones (positions never move, so a finished point
keeps its row and its outputs), the stored configuration gains the policies and budgets (and the
asker, when the learned policy's student is not the sweep's student), and the run becomes
resumable: driving it computes only the pending points. Nothing is recorded if a check fails.
"""

from __future__ import annotations

import store
from engine.model_registry import model_path
from engine.wheels.config import ANCHOR_BUDGETS, SweepConfig, sweep_config_from_dict
from engine.wheels.pair import ASK_TOKEN
from store import wheels as store_wheels
from store.errors import UndoError
from store.processes import refuse_second_driver

KIND = "wheels"
ASK_KIND = "ask"


def extend_sweep(db, run_id: int, policies: list[str], budgets: list[float],
                 asker: str = "") -> list[tuple[str, float]]:
    """Append the points (policy, budget %) that `policies` x `budgets` add to the sweep; the
    list of points added. Anchors (student, teacher, speculative) take their fixed budget."""
    run = store.get_run(db, run_id)
    if run.kind != KIND:
        raise UndoError(f"run {run_id} is a {run.kind} run, not a Training Wheels sweep")
    refuse_second_driver(run)
    config = sweep_config_from_dict(run.config, f"run {run_id} config")
    extended = _extended_config(config, policies, budgets, resolve_asker(db, asker), run_id)
    if "learned" in policies:
        check_asker(extended)
    existing = {(p.policy, p.budget) for p in store_wheels.list_points(db, run_id)}
    added = [(policy, budget) for policy, budget in extended.points()
             if policy in policies and (budget in budgets or policy in ANCHOR_BUDGETS)
             and (policy, budget) not in existing]
    if not added:
        raise UndoError(f"run {run_id} already has every point asked for "
                        f"({', '.join(policies)} at {', '.join(f'{b:g}%' for b in budgets)})")
    store_wheels.append_points(db, run_id, added)
    described = ", ".join(_label(p, b) for p, b in added)
    store.update_run(db, run_id, config=extended.model_dump(mode="json"),
                     **({"status": "stopped", "stop_reason": f"points added: {described}"}
                        if run.status == "finished" else {}))
    store.add_event(db, run_id, "stage", message=f"points added: {described}")
    return added


def _extended_config(config: SweepConfig, policies: list[str], budgets: list[float], asker: str,
                     run_id: int) -> SweepConfig:
    data = config.model_dump(mode="json")
    data["sweep"]["policies"] = list(dict.fromkeys(data["sweep"]["policies"] + list(policies)))
    data["sweep"]["budgets"] = sorted(set(data["sweep"]["budgets"]) | set(budgets))
    if asker:
        data["models"]["asker"] = asker
    return sweep_config_from_dict(data, f"run {run_id} with the points added")


def resolve_asker(db, asker: str) -> str:
    """--asker as given: a model directory or file that exists stays as it is; otherwise an ask
    run's id or name becomes the directory of its finished asker (runs/run-N/asker)."""
    from pathlib import Path

    from store import ask as store_ask

    if not asker or Path(asker).expanduser().exists():
        return asker
    try:
        run = store.find_run(db, asker)
    except store.NotFound:
        return asker  # a packaged name, or a path model_path will say is missing
    if run.kind != ASK_KIND:
        raise UndoError(f"--asker {asker}: run {run.id} is a {run.kind} run, not an ask run "
                        "(`undo-tui wheels teach-ask`)")
    directory = store_ask.get_outcome(db, run.id).asker
    if run.status != "finished" or not directory:
        raise UndoError(f"--asker {asker}: ask run {run.id} is {run.status}; its asker exists "
                        f"once it finished (`undo-tui resume {run.id}`)")
    return directory


def check_asker(config: SweepConfig) -> None:
    """The learned policy's student must carry an <ask> token (read from its tokenizer only)."""
    from transformers import AutoTokenizer

    from engine.student.loading import resolve_model_dir

    name = config.models.asker or config.models.student
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_dir(model_path(name)))
    if ASK_TOKEN not in tokenizer.get_vocab():
        raise UndoError(f"policy 'learned' needs a student with an {ASK_TOKEN} token; {name} has "
                        "none (train one with `undo-tui wheels teach-ask`, then give it as "
                        "--asker)")


def _label(policy: str, budget: float) -> str:
    return policy if policy in ANCHOR_BUDGETS else f"{policy} {budget:g}%"

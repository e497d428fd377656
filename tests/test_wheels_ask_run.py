"""Teaching a student to ask is a run of its own (kind 'ask'): `wheels teach-ask` records it
with its typed settings, stores the warm start's and the PCL stage's figures per step, leaves
the asker in runs/run-N/asker (and a copy in --out), stops cleanly between steps, resumes after
kill -9 to the figures of an uninterrupted run, and `wheels add --asker RUN` takes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import store
from store import ask as store_ask
from tests.test_distill_run import kill_9_when
from tests.test_wheels_sweep import add_tinyw, cli, sweep_toml
from tests.test_wheels_sweep import wheels_store  # noqa: F401  (a fixture)
from undo_tui.cli import main

PCL_STEPS = 8
# the two train-split continuations at three levels, batch 4, 2 epochs: 4 warm-start steps
TEACH = ["--levels", "0,20,40", "--epochs", "2", "--lr", "1e-3", "--pcl-steps", str(PCL_STEPS),
         "--rollouts", "1", "--max-new-tokens", "8", "--eta", "0.5", "--save-steps", "2"]
WARM_STEPS = 4


def teach_args(config: Path, *extra: str) -> list[str]:
    return ["wheels", "teach-ask", str(config), *TEACH, *extra]


@pytest.fixture(scope="module")
def ask_reference(tmp_path_factory, wheels_pair_dirs):
    """One uninterrupted ask run (run 1, with --out), driven by the CLI in a child process:
    (store, sweep config, the --out directory)."""
    root = tmp_path_factory.mktemp("ask-run")
    store_path = root / "store.db"
    db = store.open_store(store_path)
    add_tinyw(db, store_path)
    db.close()
    config = sweep_toml(root / "s.toml", *wheels_pair_dirs,
                        distill={"data": "gold", "split": "train"})
    out = root / "copy" / "asker"
    done = cli(store_path, *teach_args(config, "--out", str(out)))
    assert done.returncode == 0, done.stderr
    return store_path, config, out


def figures(db, run_id: int) -> dict:
    """What must not depend on an interruption: every step's figures and the outcome."""
    outcome = store_ask.get_outcome(db, run_id)
    return {"warm": [s["loss"] for s in store_ask.warm_history(db, run_id)],
            "pcl": [{k: v for k, v in s.items() if k not in ("eta_s",)}
                    for s in store_ask.pcl_history(db, run_id)],
            "outcome": (outcome.warm_steps, outcome.warm_loss, outcome.pcl_steps,
                        outcome.final_loss,  # the warm start's folder names its own run
                        {k: v for k, v in outcome.result.items() if k != "warm"}),
            "status": store.get_run(db, run_id).status}


def test_an_ask_run_records_its_settings_its_steps_and_its_asker(ask_reference, capsys):
    store_path, _, out = ask_reference
    db = store.open_store(store_path)
    run = store.get_run(db, 1)
    assert (run.kind, run.name, run.status) == ("ask", "tiny-sweep-ask", "finished")
    assert run.config["ask"]["levels"] == [0.0, 0.2, 0.4]
    assert run.config["pcl"]["steps"] == PCL_STEPS and run.config["warm"]["epochs"] == 2
    assert run.config["sweep"]["sweep"]["name"] == "tiny-sweep"
    warm = store_ask.warm_history(db, 1)
    assert [s["step"] for s in warm] == list(range(1, WARM_STEPS + 1))
    pcl = store_ask.pcl_history(db, 1)
    assert [s["step"] for s in pcl] == list(range(1, PCL_STEPS + 1))
    for step in pcl:
        assert step["loss"] > 0 and step["residual_ms"] > 0 and step["total_steps"] == PCL_STEPS
        for level in ("0", "20", "40"):
            assert step[f"lambda_{level}"] >= 0 and 0 <= step[f"usage_{level}"] <= 1
    outcome = store_ask.get_outcome(db, 1)
    assert (outcome.warm_steps, outcome.pcl_steps) == (WARM_STEPS, PCL_STEPS)
    assert outcome.final_loss == pcl[-1]["loss"] and outcome.warm_loss == warm[-1]["loss"]
    assert outcome.result["final"]["lambda_40"] == pcl[-1]["lambda_40"]
    asker = Path(outcome.asker)
    assert asker == store_path.parent / "runs" / "run-1" / "asker"
    assert (asker / "config.json").is_file()
    metrics = json.loads((asker / "pcl_metrics.json").read_text())
    assert [m["loss"] for m in metrics] == [s["loss"] for s in pcl]
    assert Path(outcome.out_dir) == out.resolve() and (out / "pcl_metrics.json").is_file()
    # the states are gone; the warm start stays beside the asker PCL made from it
    assert sorted(p.name for p in asker.parent.iterdir()) == ["asker", "warm"]
    assert outcome.result["warm"] == str(asker.parent / "warm")
    assert (asker.parent / "warm" / "config.json").is_file()
    assert main(["--store", str(store_path), "status", "1"]) == 0
    status = capsys.readouterr().out
    assert f"asker: {asker}" in status and f"asker copied to: {out.resolve()}" in status
    assert f"warm-start asker (before PCL): {asker.parent / 'warm'}" in status
    assert f"PCL: {PCL_STEPS}/{PCL_STEPS} · loss" in status and "40% λ" in status
    db.close()


def _pcl_step(db, run_id: int) -> int:
    steps = store_ask.pcl_history(db, run_id)
    return steps[-1]["step"] if steps else 0


def test_kill_9_during_pcl_then_resume_ends_as_an_uninterrupted_run(ask_reference):
    store_path, config, _ = ask_reference
    db = store.open_store(store_path)
    expected = figures(db, 1)
    state = store_path.parent / "runs" / "run-2" / "pcl-state"
    kill_9_when(store_path, teach_args(config, "--name", "killed"), lambda: _pcl_step(db, 2) >= 2,
                state)
    assert 2 <= _pcl_step(db, 2) < PCL_STEPS and store.get_run(db, 2).status == "running"
    assert main(["--store", str(store_path), "resume", "killed"]) == 0
    assert figures(db, 2) == expected
    assert not state.exists()
    db.close()


def test_a_stop_request_ends_either_stage_between_steps_and_resume_finishes(
        ask_reference, tmp_path, monkeypatch):
    from engine import in_process
    from engine.wheels.ask_run import drive_ask

    # every check reads the store: the stop lands after the step it follows, however fast the
    # steps are (with the 0.5 s default a quick machine finished the warm start first)
    monkeypatch.setattr(in_process, "STOP_CHECK_S", 0.0)

    store_path, config, _ = ask_reference
    assert main(["--store", str(store_path), *teach_args(config, "--name", "stopped",
                                                         "--create-only")]) == 0
    db = store.open_store(store_path)
    run_id = store.find_run(db, "stopped").id
    expected = figures(db, 1)

    def stop_at(history, step: int):
        def tick() -> None:  # after that step, someone presses stop
            if history(db, run_id) and history(db, run_id)[-1]["step"] == step:
                store.request_stop(db, run_id)
        return tick

    folder = store_path.parent / "runs" / f"run-{run_id}"
    stopped = drive_ask(store_path, run_id, tick=stop_at(store_ask.warm_history, 1))
    assert (stopped.status, stopped.pid) == ("stopped", None)
    warm = len(store_ask.warm_history(db, run_id))
    assert 1 <= warm < WARM_STEPS and not store_ask.pcl_history(db, run_id)
    assert any((folder / "warm-state").glob(f"checkpoint-{warm}/undo_checkpoint_complete"))
    stopped = drive_ask(store_path, run_id, tick=stop_at(store_ask.pcl_history, 2))
    assert stopped.status == "stopped" and 2 <= _pcl_step(db, run_id) < PCL_STEPS
    assert store_ask.get_outcome(db, run_id).asker is None
    finished = drive_ask(store_path, run_id)
    assert finished.status == "finished"
    assert figures(db, run_id) == expected
    db.close()


def test_wheels_add_takes_an_ask_run_as_the_asker(ask_reference, wheels_pair_dirs, tmp_path):
    store_path, _, _ = ask_reference
    sweep = sweep_toml(tmp_path / "b.toml", *wheels_pair_dirs,
                       sweep={"name": "baselines", "policies": ["student"], "budgets": [0]})
    assert cli(store_path, "wheels", "sweep", str(sweep), "--create-only").returncode == 0
    db = store.open_store(store_path)
    sweep_id = store.find_run(db, "baselines").id
    wrong = cli(store_path, "wheels", "add", "baselines", "--policies", "learned", "--budgets",
                "20", "--asker", "baselines", "--plan-only")
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
    assert f"run {sweep_id} is a wheels run, not an ask run" in wrong.stderr
    added = cli(store_path, "wheels", "add", "baselines", "--policies", "learned", "--budgets",
                "20", "--asker", "tiny-sweep-ask", "--plan-only")
    assert added.returncode == 0, added.stderr
    asker = store_ask.get_outcome(db, 1).asker
    assert store.get_run(db, sweep_id).config["models"]["asker"] == asker
    db.close()


def test_bad_settings_are_refused_by_name_before_anything_is_recorded(wheels_store,
                                                                       wheels_pair_dirs,
                                                                       tmp_path, capsys):
    from engine.wheels.ask_run_config import ask_config_from_dict
    from store.errors import UndoError

    config = sweep_toml(tmp_path / "s.toml", *wheels_pair_dirs)
    assert main(["--store", str(wheels_store), *teach_args(config, "--save-steps", "-1")]) != 0
    assert "teach-ask: ask.save_steps: must be >= 0" in capsys.readouterr().err
    assert main(["--store", str(wheels_store), *teach_args(config, "--create-only")]) == 0
    db = store.open_store(wheels_store)
    (summary,) = store.list_runs(db)  # only the good one
    stored = summary.run.config
    db.close()
    assert ask_config_from_dict(stored, "stored").pcl.steps == PCL_STEPS  # read back typed
    stored["pcl"]["tau"] = 0.0
    with pytest.raises(UndoError, match="tau = 0.0 is out of range"):
        ask_config_from_dict(stored, "stored")


def test_both_stages_curves_reach_tensorboard_as_stored(ask_reference):
    """[tracking] left out of the sweep file: TensorBoard beside the store, the warm start's
    Trainer curve as run-1/warm and each PCL step's figures as run-1/pcl."""
    from tests.tracking_helpers import tensorboard_scalars

    store_path, _, _ = ask_reference
    db = store.open_store(store_path)
    try:
        warm = [(s["step"], s["loss"]) for s in store_ask.warm_history(db, 1)]
        pcl = store_ask.pcl_history(db, 1)
    finally:
        db.close()
    runs = store_path.parent / "tracking" / "run-1"
    assert tensorboard_scalars(runs / "warm")["train/loss"] == [
        (step, pytest.approx(loss, rel=1e-6)) for step, loss in warm]
    logged = tensorboard_scalars(runs / "pcl")
    for name in ("loss", "residual_ms", "lambda_40", "usage_20"):
        assert logged[f"pcl/{name}"] == [
            (s["step"], pytest.approx(s[name], rel=1e-6, abs=1e-7)) for s in pcl]

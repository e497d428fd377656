"""Experiment tracking, offline: a tiny real transfer run (the tiny random Llama trained by
transformers' Trainer in the loop's stage processes) reports to TensorBoard and to an MLflow file
store; both are read back with their own readers and compared with the store."""

from __future__ import annotations

import os
from pathlib import Path
import pytest

import store
from engine.config import config_from_dict, stored_config
from engine.errors import ConfigError
from engine.grading.stats import wilson_interval
from engine.tracking.figures import iteration_scalars
from engine.tracking.places import Places, missing_packages
from tests.tracking_helpers import tensorboard_scalars
from tests.transfer_helpers import build_source_store, source_config
from undo_tui.cli import main

TRANSFER_RUN = 2  # build_source_store records run 1


@pytest.fixture(scope="module")
def tracked(tmp_path_factory, tiny_llama_dir):
    base = tmp_path_factory.mktemp("tracking")
    store_path = base / "store.db"
    build_source_store(store_path)
    toml = base / "tracking.toml"
    toml.write_text('[tracking]\nreport_to = ["tensorboard", "mlflow"]\nexperiment = "tiny"\n')
    assert main(["--store", str(store_path), "transfer", "--from-run", "undo-src", "--student",
                 str(tiny_llama_dir), "--epochs", "2", "--config", str(toml)]) == 0
    db = store.open_store(store_path)
    try:
        run = store.get_run(db, TRANSFER_RUN)
        iterations = store.list_iterations(db, TRANSFER_RUN)
        losses = [(e.data["step"], e.data["loss"])
                  for e in store.events_since(db, TRANSFER_RUN, limit=10_000, kinds=("progress",))
                  if e.stage == "train"]
    finally:
        db.close()
    assert run.status == "finished"
    places = Places.of(stored_config(run).tracking, store_path, TRANSFER_RUN)
    return places, {it.k: it for it in iterations}, losses


def test_tensorboard_holds_the_training_curve_the_store_recorded(tracked):
    places, iterations, losses = tracked
    curve = tensorboard_scalars(places.logdir("iteration-1"))["train/loss"]
    trained = iterations[1]
    assert [step for step, _ in curve] == list(range(1, trained.metrics["train_steps"] + 1))
    values = dict(curve)
    assert losses and all(values[step] == pytest.approx(loss, rel=1e-6) for step, loss in losses)
    assert curve[-1][1] == pytest.approx(trained.metrics["train_final_loss"], rel=1e-6)
    assert sum(v for _, v in curve) / len(curve) == pytest.approx(trained.train_loss, rel=1e-5)


def test_tensorboard_holds_each_iterations_accuracy_with_n_and_interval(tracked):
    places, iterations, _ = tracked
    logged = tensorboard_scalars(places.logdir("loop"))
    assert [step for step, _ in logged["val/strict_accuracy"]] == [0, 1]
    for k, it in iterations.items():
        counts = it.scored("val")
        low, high = wilson_interval(counts.correct, counts.total)
        at = {tag: dict(points)[k] for tag, points in logged.items() if k in dict(points)}
        assert at["val/strict_accuracy"] == pytest.approx(it.val_accuracy, abs=1e-7)
        assert at["val/n"] == counts.total
        assert (at["val/strict_low"], at["val/strict_high"]) == pytest.approx((low, high))
        assert at["val/flexible_accuracy"] == pytest.approx(counts.flexible_correct / counts.total)
        assert at["test/strict_accuracy"] == pytest.approx(it.test_accuracy, abs=1e-7)
        assert at["time/wall_s"] == pytest.approx(it.wall_seconds, rel=1e-6)


def test_mlflow_file_store_holds_the_same_figures(tracked):
    places, iterations, _ = tracked
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient

    assert places.mlflow_uri.startswith("file:")
    client = MlflowClient(tracking_uri=places.mlflow_uri)
    experiment = client.get_experiment_by_name("tiny")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {"run-2", "run-2/iteration-1"}
    accuracy = client.get_metric_history(runs["run-2"].info.run_id, "val/strict_accuracy")
    assert sorted((m.step, m.value) for m in accuracy) == [
        (k, pytest.approx(it.val_accuracy)) for k, it in sorted(iterations.items())]
    loss = client.get_metric_history(runs["run-2/iteration-1"].info.run_id, "loss")
    tensorboard = tensorboard_scalars(places.logdir("iteration-1"))["train/loss"]
    assert sorted((m.step, m.value) for m in loss) == [
        (step, pytest.approx(value, rel=1e-6)) for step, value in tensorboard]


def test_teacher_yield_per_reason_and_cost_become_scalars(tmp_path):
    ids_store = tmp_path / "store.db"
    ids = build_source_store(ids_store)
    db = store.open_store(ids_store)
    try:
        store.upsert_iteration(db, ids["run"], 1, teacher_attempted=8, teacher_kept=6,
                               metrics={"teacher_rejected": {"not_correct": 2},
                                        "val_total": 6, "val_correct": 1,
                                        "val_flexible_correct": 3})
        it = store.get_iteration(db, ids["run"], 1)
    finally:
        db.close()
    logged = iteration_scalars(it)
    assert logged["teacher/yield"] == 6 / 8 and logged["teacher/rejected/not_correct"] == 2
    assert (logged["teacher/yield_low"], logged["teacher/yield_high"]) == wilson_interval(6, 8)
    assert logged["teacher/cost"] == it.teacher_cost and "teacher/calls" in logged
    assert logged["val/flexible_accuracy"] == 3 / 6 and logged["val/n"] == 6


def config_with(tracking: dict):
    data = source_config()
    data["tracking"] = tracking
    return config_from_dict(data, source="t.toml")


def test_report_to_none_or_empty_turns_tracking_off_and_unknown_ones_are_named():
    assert config_with({"report_to": "none"}).tracking.backends() == ()
    assert config_with({"report_to": []}).tracking.backends() == ()
    assert config_with({"report_to": "mlflow"}).tracking.backends() == ("mlflow",)
    assert config_from_dict(source_config()).tracking.backends() == ("tensorboard",)
    with pytest.raises(ConfigError) as error:
        config_with({"report_to": ["tensorbored"]})
    assert str(error.value) == ("t.toml: tracking.report_to.0: 'tensorbored' is not allowed; "
                                "choose one of 'tensorboard', 'mlflow', 'wandb', 'trackio'")


def test_default_places_are_under_the_stores_folder(tmp_path):
    places = Places.of(config_with({}).tracking, tmp_path / "s.db", 7)
    assert places.logdir("iteration-3") == tmp_path / "tracking" / "run-7" / "iteration-3"
    assert places.mlflow_uri == (tmp_path / "tracking" / "mlruns").as_uri()
    assert places.trainer_args("iteration-3")["run_name"] == "run-7/iteration-3"


def test_a_missing_tracker_package_names_the_setting_and_pip_package(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",  # fault: wandb not installed
                        lambda name, *a: None if name == "wandb" else real(name, *a))
    lines = missing_packages(config_with({"report_to": ["tensorboard", "wandb"]}).tracking)
    assert lines == ["tracking.report_to names 'wandb', but its package is not installed: pip "
                     "install wandb (or remove 'wandb' from tracking.report_to)"]


def test_tracking_command_says_where_the_curves_are_and_how_to_open_them(tracked, capsys):
    places, _, _ = tracked
    store_path = places.root.parent / "store.db"
    assert main(["--store", str(store_path), "tracking", "2"]) == 0
    out = capsys.readouterr().out
    assert f"tensorboard --logdir {places.root}" in out
    assert "run-2/{iteration-1,loop}" in out
    assert f"MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri {places.mlflow_uri}" \
        in out
    assert main(["--store", str(store_path), "tracking", "1"]) == 0  # the source: default
    assert "nothing logged for this run yet" in capsys.readouterr().out


def test_preflight_names_a_missing_tracker_and_records_nothing(tmp_path, tiny_llama_dir,
                                                               monkeypatch, capsys):
    import importlib.util

    store_path = tmp_path / "store.db"
    build_source_store(store_path)
    toml = tmp_path / "t.toml"
    toml.write_text('[tracking]\nreport_to = ["mlflow"]\n')
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",  # fault: mlflow not installed
                        lambda name, *a: None if name == "mlflow" else real(name, *a))
    assert main(["--store", str(store_path), "transfer", "--from-run", "undo-src", "--student",
                 str(tiny_llama_dir), "--config", str(toml), "--create-only"]) == 2
    assert "tracking.report_to names 'mlflow', but its package is not installed: pip install " \
           "mlflow-skinny" in capsys.readouterr().err
    db = store.open_store(store_path)
    try:
        assert [s.run.id for s in store.list_runs(db)] == [1]
    finally:
        db.close()


def test_preflight_refuses_a_tracking_folder_it_cannot_write(tmp_path, monkeypatch):
    """Tests run as root, where permission bits stop nothing: the fault (a read-only folder) is
    injected at os.access for that folder only, as in test_failsafe_preflight."""
    import engine.loop.preflight as preflight

    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = preflight.os.access
    monkeypatch.setattr(preflight.os, "access", lambda path, mode: False if Path(path) == locked
                        else real_access(path, mode))
    config = config_with({"dir": str(locked / "tb")})  # not there yet: its parent decides
    assert preflight.tracking_problems(tmp_path / "s.db", config) == [
        f"tracking.dir: {locked / 'tb'} is not writable (TensorBoard logs and the local "
        "tracking files go there)"]
    off = config_with({"report_to": "none", "dir": str(locked)})
    assert preflight.tracking_problems(tmp_path / "s.db", off) == []
    assert preflight.tracking_problems(tmp_path / "s.db", config_with({})) == []

"""A Training Wheels sweep distils its student with a distillation objective, the sweep's own
teacher being the teacher unless [distill.training] names another."""

from __future__ import annotations

import json
from pathlib import Path

import store
from engine.wheels.config import load_sweep_config
from store import wheels as store_wheels
from tests.test_wheels_sweep import cli, sweep_toml, wheels_store  # noqa: F401 (fixture)

TRAINING = {"lora": False, "epochs": 1, "batch_size": 2, "lr": 1e-4, "max_length": 128,
            "dtype": "float32", "device": "cpu"}


def test_the_sweep_teacher_is_the_default_teacher_model(tmp_path, wheels_pair_dirs):
    student, teacher = wheels_pair_dirs
    kd = load_sweep_config(sweep_toml(tmp_path / "kd.toml", student, teacher,
                                      distill={"training": {"objective": "kd"}}))
    assert kd.distill.training.teacher_model == str(teacher)
    other = load_sweep_config(sweep_toml(
        tmp_path / "other.toml", student, teacher,
        distill={"training": {"objective": "pcl", "teacher_model": str(student)}}))
    assert other.distill.training.teacher_model == str(student)
    sft = load_sweep_config(sweep_toml(tmp_path / "sft.toml", student, teacher,
                                       distill={"training": {"lr": 1e-4}}))
    assert (sft.distill.training.objective, sft.distill.training.teacher_model) == ("sft", None)


def test_a_sweep_distils_by_kd_from_its_teacher(wheels_store, wheels_pair_dirs, tmp_path):  # noqa: F811
    student, teacher = wheels_pair_dirs
    config = sweep_toml(tmp_path / "s.toml", student, teacher,
                        sweep={"policies": ["student"], "split": "test", "limit": 2},
                        distill={"enabled": True, "data": "gold",
                                 "training": {**TRAINING, "objective": "kd", "temperature": 2.0}})
    done = cli(wheels_store, "wheels", "sweep", str(config))
    assert done.returncode == 0, done.stderr
    assert "distilling the student (kd)" in done.stdout
    db = store.open_store(wheels_store)
    run = store.list_runs(db)[0].run
    path, info = store_wheels.get_distill(db, run.id)
    assert info["objective"] == "kd" and info["steps"] == 1
    trained = json.loads((Path(path) / "undo_train.json").read_text())["config"]
    assert (trained["objective"], trained["teacher_model"]) == ("kd", str(teacher))
    kl = [e.data["kl"] for e in store.events_since(db, run.id, kinds=("progress",))
          if e.stage == "distill"]
    assert kl and all(value >= 0 for value in kl)
    db.close()

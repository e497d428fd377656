"""[training] objective and its knobs: sft stays the default; a distillation objective is refused
without a teacher, with a bad knob, or with packed batches it cannot sample into."""

from __future__ import annotations

import pytest

from engine.config import config_from_dict
from engine.config.schema import run_config_schema
from engine.config.training import DISTILL_FIELDS, TrainConfig
from engine.errors import ConfigError
from engine.student.resume import fingerprint

FEATURES = [{"input_ids": [1, 2, 3], "labels": [-100, 2, 3]}]


def training(**table) -> TrainConfig:
    return config_from_dict({"dataset": {"name": "d"}, "training": table}).training


def test_sft_is_the_default_and_needs_no_teacher():
    config = training()
    assert (config.objective, config.teacher_model) == ("sft", None)


@pytest.mark.parametrize("table, message", [
    ({"objective": "kd"}, "run.toml: training.teacher_model: required when objective = 'kd'"),
    ({"objective": "pcl", "teacher_model": " "}, "training.teacher_model: required when objective = 'pcl'"),
    ({"objective": "dpo"}, "training.objective: 'dpo' is not allowed; choose one of 'sft', 'kd', 'on_policy', 'pcl'"),
    ({"objective": "on_policy", "teacher_model": "t", "beta": 1.5}, "training.beta: must be >= 0 and <= 1, got 1.5"),
    ({"objective": "pcl", "teacher_model": "t", "tau": 0}, "training.tau: must be > 0 and <= 100, got 0"),
    ({"objective": "pcl", "teacher_model": "t", "pcl_window": -1}, "training.pcl_window: must be >= 0, got -1"),
    ({"objective": "kd", "teacher_model": "t", "temperature": 0.0}, "training.temperature: must be > 0"),
    ({"objective": "pcl", "teacher_model": "t", "on_policy_ratio": 2}, "training.on_policy_ratio: must be >= 0 and <= 1, got 2"),
    ({"objective": "on_policy", "teacher_model": "t", "max_new_tokens": 0}, "training.max_new_tokens: must be >= 1"),
    ({"objective": "on_policy", "teacher_model": "t", "batching": "packed"}, "training: batching = 'packed' cannot hold sampled continuations"),
    ({"objective": "kd", "teacher_model": "t", "batching": "packed", "off_policy": "teacher"}, "training: batching = 'packed' cannot hold sampled"),
    ({"objective": "kd", "teacher_model": "t", "off_policy": "replay"}, "training: off_policy = 'replay' replays the student's samples: it needs objective on_policy or pcl with 0 < on_policy_ratio < 1"),
    ({"objective": "pcl", "teacher_model": "t", "off_policy": "replay", "on_policy_ratio": 1.0}, "it needs objective on_policy or pcl with 0 < on_policy_ratio < 1"),
    ({"objective": "pcl", "teacher_model": "t", "off_policy": "replay", "replay_size": 0}, "training.replay_size: must be >= 1, got 0"),
])
def test_bad_distillation_settings_name_the_key(table, message):
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"dataset": {"name": "d"}, "training": table}, "run.toml")
    assert message in str(caught.value)


def test_packed_batches_are_fine_without_samples():
    assert training(objective="kd", teacher_model="t", batching="packed").batching == "packed"
    assert training(objective="pcl", teacher_model="t", batching="packed",
                    on_policy_ratio=0.0).on_policy_ratio == 0.0


def test_the_schema_offers_the_objectives_and_their_knobs():
    properties = run_config_schema()["$defs"]["TrainConfig"]["properties"]
    assert properties["objective"]["enum"] == ["sft", "kd", "on_policy", "pcl"]
    assert set(DISTILL_FIELDS) <= set(properties)
    assert properties["beta"]["minimum"] == 0 and properties["beta"]["maximum"] == 1


def test_distillation_knobs_do_not_invalidate_an_sft_resume_but_do_under_a_distillation():
    """Under sft the teacher's knobs decide nothing, so changing them keeps a resumable state;
    under kd they decide the weights."""
    sft = fingerprint(FEATURES, TrainConfig().model_dump(), "base", None)
    assert fingerprint(FEATURES, TrainConfig(tau=3.0).model_dump(), "base", None) == sft
    kd = TrainConfig(objective="kd", teacher_model="t")
    assert fingerprint(FEATURES, kd.model_dump(), "base", None) != sft
    hotter = kd.model_copy(update={"temperature": 2.0})
    assert (fingerprint(FEATURES, hotter.model_dump(), "base", None)
            != fingerprint(FEATURES, kd.model_dump(), "base", None))

"""Run configs: the shipped examples load; bad ones name the file, the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import config_from_dict, load_config
from engine.errors import ConfigError
from store.errors import UndoError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", sorted((ROOT / "sample_runs" / "configs").glob("*.toml")),
                         ids=lambda p: p.name)
def test_shipped_configs_load(path):
    config = load_config(path)
    assert config.dataset.name and config.loop.max_iterations >= 1


def test_defaults_follow_the_brief():
    config = config_from_dict({"dataset": {"name": "d"}})
    assert (config.loop.max_iterations, config.loop.delta, config.loop.keep,
            config.loop.regenerate, config.loop.init) == (4, 0.5, "correct", "all", "base")
    assert (config.loop.stop_rule, config.loop.alpha) == ("significant", 0.05)


@pytest.mark.parametrize("data, message", [
    ({"dataset": {"name": "d"}, "loop": {"kep": "all"}}, "loop.kep: unknown key; allowed keys: max_iterations"),
    ({"dataset": {"name": "d"}, "loop": {"keep": "most"}}, "loop.keep: 'most' is not allowed; choose one of 'correct', 'all', 'retry', 'hinted'"),
    ({"dataset": {"name": "d"}, "loop": {"max_iterations": "4"}}, "loop.max_iterations: expected an integer"),
    ({"dataset": {"name": "d"}, "loop": {"delta": -1}}, "loop.delta must be >= 0"),
    ({"dataset": {"name": "d"}, "loop": {"stop_rule": "better"}}, "loop.stop_rule: 'better' is not allowed; choose one of 'significant', 'delta'"),
    ({"dataset": {"name": "d"}, "loop": {"alpha": 1.5}}, "loop.alpha must be between 0 and 1"),
    ({"dataset": {"name": "d"}, "evaluation": {"evaluate_base": "yes"}}, "evaluation.evaluate_base: expected true or false"),
    ({"loop": {}}, "dataset.name is required"),
    ({"dataset": {"name": "d"}, "trainig": {}}, "unknown section [trainig]"),
    ({"dataset": {"name": "d"}, "training": {"lora_rank": 8}}, "training.lora_rank: unknown key"),
    ({"dataset": {"name": "d"}, "training": {"epochs": 0}}, "epochs"),
    ({"dataset": {"name": "d"}, "teacher": {"backend": "vllm"}}, "backend"),
    ({"dataset": {"name": "d"}, "teacher": {"backend": "openai", "model": "m"}}, "base_url"),
])
def test_bad_configs_say_what_is_wrong(data, message):
    with pytest.raises(UndoError) as info:
        config_from_dict(data, source="cfg.toml")
    assert message in str(info.value)
    assert "cfg.toml" in str(info.value)


def test_bad_toml_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[loop\nmax_iterations = 3\n")
    with pytest.raises(ConfigError, match="broken.toml: not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")


def test_config_round_trips_through_the_store_json():
    config = config_from_dict({"dataset": {"name": "d"}, "training": {"epochs": 2},
                               "loop": {"keep": "retry", "retries": 2}})
    again = config_from_dict(config.to_dict())
    assert again.to_dict() == config.to_dict()

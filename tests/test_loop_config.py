"""Run configs: the shipped examples load; bad ones name the file, the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

import store
from engine.config import (LlamaCppTeacherConfig, OpenAITeacherConfig, config_from_dict,
                           load_config, stored_config)
from engine.config.stored import upgrade
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
    ({"dataset": {"name": "d"}, "loop": {"max_iterations": "4"}}, "loop.max_iterations: expected an integer, got '4'"),
    ({"dataset": {"name": "d"}, "loop": {"delta": -1}}, "loop.delta: must be >= 0, got -1"),
    ({"dataset": {"name": "d"}, "loop": {"stop_rule": "better"}}, "loop.stop_rule: 'better' is not allowed; choose one of 'significant', 'delta'"),
    ({"dataset": {"name": "d"}, "loop": {"alpha": 1.5}}, "loop.alpha: must be > 0 and < 1, got 1.5"),
    ({"dataset": {"name": "d"}, "evaluation": {"evaluate_base": "yes"}}, "evaluation.evaluate_base: expected true or false"),
    ({"loop": {}}, "dataset.name: required (the name given to `undo-tui import`)"),
    ({"dataset": {"name": "d"}, "trainig": {}}, "unknown section [trainig]"),
    ({"dataset": {"name": "d"}, "loop": 3}, "[loop] must be a table, got 3"),
    ({"dataset": {"name": "d"}, "training": {"lora_rank": 8}}, "training.lora_rank: unknown key"),
    ({"dataset": {"name": "d"}, "training": {"epochs": 0}}, "training.epochs: must be >= 1, got 0"),
    ({"dataset": {"name": "d"}, "teacher": {"backend": "vllm"}}, "teacher.backend: 'vllm' is not allowed"),
    ({"dataset": {"name": "d"}, "teacher": {"backend": "openai", "model": "m"}}, "teacher.base_url: required"),
    ({"dataset": {"name": "d"}, "teacher": {"timeout_s": 4.0}}, "teacher.timeout_s: unknown key for backend 'llamacpp'"),
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


def test_every_problem_is_listed_on_its_own_line():
    with pytest.raises(ConfigError) as info:
        config_from_dict({"dataset": {"name": "d"}, "loop": {"keep": "most", "retries": -1}},
                         source="cfg.toml")
    assert str(info.value).splitlines() == [
        "cfg.toml: loop.keep: 'most' is not allowed; choose one of 'correct', 'all', 'retry', "
        "'hinted'",
        "cfg.toml: loop.retries: must be >= 0, got -1"]


def test_training_follows_the_run_seed_and_the_student_system_prompt_unless_set():
    config = config_from_dict({"dataset": {"name": "d"}, "run": {"seed": 7},
                               "student": {"system_prompt": "Be brief."}})
    assert (config.training.seed, config.training.system_prompt) == (7, "Be brief.")
    config = config_from_dict({"dataset": {"name": "d"}, "run": {"seed": 7},
                               "training": {"seed": 1}})
    assert (config.training.seed, config.training.system_prompt) == (1, None)


def test_the_typed_config_round_trips_through_the_store(db):
    config = config_from_dict({"dataset": {"name": "d"}, "training": {"epochs": 2},
                               "teacher": {"backend": "openai", "base_url": "http://h/v1",
                                           "concurrency": 3},
                               "loop": {"keep": "retry", "retries": 2}})
    run_id = store.create_run(db, "r", config.model_dump(mode="json"), kind="undo")
    again = stored_config(store.get_run(db, run_id))
    assert again.model_dump() == config.model_dump()
    assert again.source == f"run {run_id} config"  # messages name where it came from
    assert isinstance(again.teacher, OpenAITeacherConfig) and again.teacher.concurrency == 3


# What the old hand-written validator stored as config_json: every table as written in the
# file (a teacher table with keys of both backends, training without the injected seed) and
# the file's name under "source".
OLD_STORED = {
    "run": {"name": "old", "seed": 5, "kind": "undo"},
    "dataset": {"name": "d", "train_split": "train", "val_split": "val", "test_split": "",
                "train_limit": 0, "val_limit": 0, "test_limit": 0},
    "teacher": {"model": "smollm2", "max_tokens": 160, "concurrency": 8, "timeout_s": 120.0,
                "base_url": None},
    "student": {"model": "smollm2", "system_prompt": ""},
    "training": {"epochs": 2, "lr": 3e-4, "target_modules": ["q_proj", "v_proj"]},
    "evaluation": {"max_new_tokens": 96, "batch_size": 16, "evaluate_base": True,
                   "evaluate_train": True, "dtype": "auto"},
    "prompts": {"dir": "", "initial": "initial", "refine_variant": "answer_only"},
    "loop": {"max_iterations": 2, "stop_rule": "significant", "alpha": 0.05, "delta": 0.5,
             "regenerate": "all", "keep": "retry", "retries": 1, "train_set": "replace",
             "init": "base", "val_errors_shown": 3, "val_error_selection": "similar",
             "reject_no_derivation": True, "reject_hint_before_derivation": True,
             "reject_talks_about_student": True, "reject_copies_student": True,
             "reject_copies_previous": True},
    "source": "sample_runs/configs/demo.toml",
}


@pytest.mark.parametrize("training", [{}, {"seed": 5}], ids=["seed-left-out", "seed-injected"])
def test_a_run_stored_by_an_older_version_still_loads(db, training):
    old = {**OLD_STORED, "training": {**OLD_STORED["training"], **training}}
    run_id = store.create_run(db, "old", old, kind="undo")
    config = stored_config(store.get_run(db, run_id))
    assert isinstance(config.teacher, LlamaCppTeacherConfig)
    assert (config.teacher.model, config.teacher.max_tokens) == ("smollm2", 160)
    assert (config.training.epochs, config.training.seed) == (2, 5)  # the run's seed, as before
    assert config.training.target_modules == ["q_proj", "v_proj"]
    assert config.loop.keep_rules() == frozenset(
        {"no_derivation", "hint_before_derivation", "talks_about_student", "copies_student",
         "copies_previous"})
    # stored again in today's shape, it loads as the same config
    assert config_from_dict(config.model_dump(mode="json")).model_dump() == config.model_dump()


def test_the_shipped_sample_run_s_stored_config_loads(tmp_path):
    """sample_runs/demo.db's stored config loads into the typed config, already in today's
    shape (configs stored by older versions: the test above)."""
    import shutil

    copy = tmp_path / "demo.db"
    shutil.copy(ROOT / "sample_runs" / "demo.db", copy)
    db = store.connect(copy)
    try:
        run = store.get_run(db, 1)
        config = stored_config(run)
        assert upgrade(run.config) == run.config
    finally:
        db.close()
    assert (config.run.name, config.dataset.name, config.loop.max_iterations) == ("demo",
                                                                                 "arith-demo", 2)
    assert isinstance(config.teacher, LlamaCppTeacherConfig)
    assert config.teacher.max_tokens == run.config["teacher"]["max_tokens"]

"""Teacher settings from a TOML table, and the model identity that keys the call cache."""

from __future__ import annotations

import json
import os

import pytest

from engine.config import LlamaCppTeacherConfig, OpenAITeacherConfig, teacher_from_dict
from engine.errors import ConfigError
from engine.model_registry import ModelNotFound
from engine.teachers import model_id_for
from engine.teachers.identity import HASH_CACHE_NAME, file_sha256
from engine.teachers.retry import backoff_delay, parse_retry_after


def test_a_teacher_table_becomes_its_backend_s_config_and_bad_keys_are_named():
    config = teacher_from_dict({"backend": "openai", "model": "gpt-x",
                                "base_url": "http://127.0.0.1:8000/v1", "concurrency": 16,
                                "timeout_s": 30, "api_key_env": "MY_KEY"})
    assert isinstance(config, OpenAITeacherConfig)
    assert (config.concurrency, config.timeout_s, config.api_key_env) == (16, 30, "MY_KEY")
    assert isinstance(teacher_from_dict({}), LlamaCppTeacherConfig)  # backend left out
    bad = {
        "teacher.modle: unknown key for backend 'llamacpp'; allowed keys: backend, model, ":
            {"modle": "x"},
        "teacher.concurrency: expected an integer, got '8'":
            {"backend": "openai", "base_url": "http://h/v1", "concurrency": "8"},
        "t.toml: teacher.backend: 'vllm' is not allowed; choose one of 'llamacpp', 'openai'":
            {"backend": "vllm"},
        "teacher.base_url: required (the server's endpoint, e.g. http://127.0.0.1:8000/v1)":
            {"backend": "openai", "model": "m"},
        "teacher.top_p: must be > 0 and <= 1, got 0": {"top_p": 0},
        "teacher.api_key_env: must be the NAME of an environment variable":
            {"backend": "openai", "base_url": "http://h/v1", "api_key_env": "sk-abc def"},
        # a key only the other backend reads is refused, not ignored
        "teacher.n_ctx: unknown key for backend 'openai'":
            {"backend": "openai", "base_url": "http://h/v1", "n_ctx": 4096},
    }
    for message, table in bad.items():
        with pytest.raises(ConfigError) as info:
            teacher_from_dict(table, source="t.toml")
        assert message in str(info.value) and str(info.value).startswith("t.toml: ")
    stored = config.model_dump(mode="json")  # what a run stores reloads as the same config
    assert teacher_from_dict(stored) == config


def test_the_packaged_alias_resolves_to_the_gguf(teacher_gguf):
    assert LlamaCppTeacherConfig(model="smollm2").model_path() == teacher_gguf
    with pytest.raises(ModelNotFound, match="does not exist"):
        LlamaCppTeacherConfig(model="/nope/model.gguf").model_path()


def test_gguf_identity_is_a_content_hash_remembered_until_the_file_changes(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("UNDO_TUI_CACHE", str(tmp_path / "cache"))
    model = tmp_path / "m.gguf"
    model.write_bytes(b"weights-1")
    first = model_id_for(LlamaCppTeacherConfig(model=str(model)))
    assert first.startswith("gguf:") and len(first) == 5 + 64
    remembered = json.loads((tmp_path / "cache" / HASH_CACHE_NAME).read_text())
    assert list(remembered.values()) == [first[5:]]
    # the remembered hash is served while path, size and mtime match (proved by a fake entry)
    key = next(iter(remembered))
    (tmp_path / "cache" / HASH_CACHE_NAME).write_text(json.dumps({key: "f" * 64}))
    assert file_sha256(model) == "f" * 64
    model.write_bytes(b"weights-2")
    os.utime(model, ns=(1, 1))
    assert file_sha256(model) not in ("f" * 64, first[5:])


def test_api_identity_names_endpoint_and_model():
    config = OpenAITeacherConfig(backend="openai", model="m1", base_url="http://h:1/v1/")
    assert model_id_for(config) == "openai:http://h:1/v1:m1"


def test_backoff_grows_with_jitter_and_honours_retry_after():
    import random

    rng = random.Random(0)
    delays = [backoff_delay(n, 1.0, 60.0, rng=rng) for n in (1, 2, 3, 4)]
    assert all(step / 2 <= d <= step for d, step in zip(delays, (1, 2, 4, 8)))
    assert backoff_delay(1, 0.1, 60.0, retry_after_s=7, rng=rng) == 7
    assert backoff_delay(1, 0.1, 5.0, retry_after_s=3600, rng=rng) == 5  # capped
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None

"""Teacher settings from a TOML table, and the model identity that keys the call cache."""

from __future__ import annotations

import json
import os

import pytest

from engine.model_registry import ModelNotFound
from engine.teachers import TeacherConfig, TeacherConfigError, model_id_for
from engine.teachers.identity import HASH_CACHE_NAME, file_sha256
from engine.teachers.retry import backoff_delay, parse_retry_after


def test_from_dict_builds_a_config_and_names_bad_keys():
    config = TeacherConfig.from_dict({"backend": "openai", "model": "gpt-x",
                                      "base_url": "http://127.0.0.1:8000/v1", "concurrency": 16,
                                      "timeout_s": 30, "api_key_env": "MY_KEY"})
    assert (config.concurrency, config.timeout_s, config.api_key_env) == (16, 30, "MY_KEY")
    with pytest.raises(TeacherConfigError, match=r"unknown key 'modle'; allowed keys: backend, "
                                                 r"model, base_url"):
        TeacherConfig.from_dict({"modle": "x"})
    with pytest.raises(TeacherConfigError, match="concurrency must be an integer, got '8'"):
        TeacherConfig.from_dict({"concurrency": "8"})
    with pytest.raises(TeacherConfigError, match=r"t.toml \[teacher\]: backend: 'vllm' is not "
                                                 r"one of llamacpp, openai"):
        TeacherConfig.from_dict({"backend": "vllm"}, where="t.toml [teacher]")
    with pytest.raises(TeacherConfigError, match="base_url: required for the openai backend"):
        TeacherConfig.from_dict({"backend": "openai", "model": "m"})
    with pytest.raises(TeacherConfigError, match="top_p: must be in"):
        TeacherConfig.from_dict({"top_p": 0})
    with pytest.raises(TeacherConfigError, match="NAME of an environment variable"):
        TeacherConfig.from_dict({"api_key_env": "sk-abc def"})
    assert TeacherConfig.from_dict(config.to_dict()) == config  # what a run stores reloads


def test_the_packaged_alias_resolves_to_the_gguf(teacher_gguf):
    assert TeacherConfig(model="smollm2").model_path() == teacher_gguf
    with pytest.raises(ModelNotFound, match="does not exist"):
        TeacherConfig(model="/nope/model.gguf").model_path()


def test_gguf_identity_is_a_content_hash_remembered_until_the_file_changes(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("UNDO_TUI_CACHE", str(tmp_path / "cache"))
    model = tmp_path / "m.gguf"
    model.write_bytes(b"weights-1")
    first = model_id_for(TeacherConfig(model=str(model)))
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
    config = TeacherConfig(backend="openai", model="m1", base_url="http://h:1/v1/")
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

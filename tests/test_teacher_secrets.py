"""The API key is read from the environment by name and appears nowhere it could leak."""

from __future__ import annotations

import logging
import secrets

import store
from tests.fixtures.teacher_fixtures import add_dataset, fault_rows
from undo_tui.cli import main

KEY_ENV = "UNDO_TEST_TEACHER_KEY"


def test_api_key_never_reaches_store_logs_or_output(db, store_path, tmp_path, fault_server,
                                                    monkeypatch, capfd, caplog):
    key = "sk-test-" + secrets.token_hex(16)
    monkeypatch.setenv(KEY_ENV, key)
    caplog.set_level(logging.DEBUG)
    # a careless server echoes the Authorization header in an error body; retries log reasons
    add_dataset(db, "faults", fault_rows(["[ok]", "[echoauth]", "[500always]", "[length]"]))
    config = tmp_path / "teacher.toml"
    config.write_text(f'[teacher]\nbackend = "openai"\nmodel = "m"\nbase_url = "{fault_server.url}"'
                      f'\napi_key_env = "{KEY_ENV}"\nmax_retries = 1\nretry_backoff_s = 0.01\n')
    assert main(["--store", str(store_path), "generate", "--dataset", "faults",
                 "--teacher", str(config)]) == 0
    add_dataset(db, "fatal", fault_rows(["[401]"]))
    assert main(["--store", str(store_path), "generate", "--dataset", "fatal",
                 "--teacher", str(config)]) == 2

    assert fault_server.auth_headers and set(fault_server.auth_headers) == {f"Bearer {key}"}
    run = store.list_runs(db)[-1].run
    assert run.config["teacher"]["api_key_env"] == KEY_ENV  # the name is kept, not the value
    echoed = [r for r in store.rationales_for_iteration(db, run.id, 1) if r.status == "failed"]
    assert any("***" in r.error for r in echoed)  # the echoed key was scrubbed

    db.close()
    files = [p for p in store_path.parent.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in files) and any(p.name.endswith("-wal") or
                                                         p.suffix == ".db" for p in files)
    for path in files:
        assert key.encode() not in path.read_bytes(), f"API key found in {path}"
    captured = capfd.readouterr()
    assert "calls made" in captured.out and "HTTP 401" in captured.err
    assert key not in captured.out + captured.err + caplog.text


def test_a_named_but_unset_key_variable_is_a_clear_error(db, store_path, fault_server,
                                                         monkeypatch, capsys):
    monkeypatch.delenv(KEY_ENV, raising=False)
    add_dataset(db, "faults", fault_rows(["[ok]"]))
    assert main(["--store", str(store_path), "generate", "--dataset", "faults",
                 "--teacher-backend", "openai", "--model", "m", "--base-url", fault_server.url,
                 "--api-key-env", KEY_ENV]) == 2
    assert f"the environment variable {KEY_ENV} is not set" in capsys.readouterr().err
    assert fault_server.total == 0 and store.list_runs(db) == []

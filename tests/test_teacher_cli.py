"""`undo-tui generate`: the headless teacher pass as a user runs it."""

from __future__ import annotations

import time

import pytest

import store
from engine.generation import KEEP_POLICIES
from engine.generation.progress import Progress
from engine.config import BACKENDS
from tests.fixtures.teacher_fixtures import add_dataset, fault_rows, gsm8k_rows
from undo_tui.cli import main
from undo_tui.commands import generate


@pytest.mark.slow
def test_generate_with_the_llama_teacher_then_rerun_makes_zero_calls(db, store_path, capfd):
    add_dataset(db, "gsm8k", gsm8k_rows(4))
    args = ["--store", str(store_path), "generate", "--dataset", "gsm8k", "--split", "train",
            "--limit", "2", "--max-tokens", "24"]
    assert main(args) == 0
    first = capfd.readouterr()
    assert "teacher 2/2" in first.out and "tok/s" in first.out
    assert "calls made: 2, served from cache: 0" in first.out
    assert first.err == ""  # llama.cpp's stderr went to the run log
    run = store.list_runs(db)[0].run
    assert (run.name, run.kind, run.status) == ("generate-gsm8k-train", "generate", "finished")
    assert run.teacher.startswith("gguf:") and run.config["teacher"]["max_tokens"] == 24
    assert "teacher pass initial@v1" in open(run.log_path).read()
    assert len(store.rationales_for_iteration(db, run.id, 1)) == 2

    assert main(args) == 0
    assert "calls made: 0, served from cache: 2" in capfd.readouterr().out
    assert len(store.list_runs(db)) == 1

    assert main(args[:-1] + ["32"]) == 2  # same run name, other settings: refused
    err = capfd.readouterr().err
    assert "teacher.max_tokens: 24 -> 32" in err and "--run-name" in err


def test_teacher_toml_and_flags(db, store_path, tmp_path, fault_server, capsys):
    add_dataset(db, "faults", fault_rows(["[ok] a", "[ans=9] b"]))
    config = tmp_path / "teacher.toml"
    config.write_text(f'[teacher]\nbackend = "openai"\nmodel = "m"\nbase_url = "{fault_server.url}"'
                      f'\nconcurrency = 3\nmax_tokens = 99\n')
    assert main(["--store", str(store_path), "generate", "--dataset", "faults", "--teacher",
                 str(config), "--max-tokens", "50", "--keep", "all"]) == 0
    out = capsys.readouterr().out
    assert "kept 2/2" in out and "calls made: 2, served from cache: 0" in out
    assert {b["max_tokens"] for b in fault_server.bodies} == {50}  # the flag wins
    run = store.list_runs(db)[0].run
    assert run.config["teacher"]["concurrency"] == 3


@pytest.mark.parametrize("text, message", [
    ('[teacher]\nmodle = "x"\n', r"teacher.toml: teacher.modle: unknown key for backend "
                                  r"'llamacpp'; allowed keys"),
    ('[teachers]\nmodel = "x"\n', r"teacher.toml: no \[teacher\] table"),
    ('[teacher]\nmodel = \n', r"teacher.toml: not valid TOML \(.*line 2"),
    ('[teacher]\nbackend = "openai"\nmodel = "m"\n', "teacher.base_url: required"),
])
def test_bad_teacher_configs_name_the_file_and_key(db, store_path, tmp_path, capsys, text,
                                                   message):
    add_dataset(db, "faults", fault_rows(["[ok]"]))
    config = tmp_path / "teacher.toml"
    config.write_text(text)
    assert main(["--store", str(store_path), "generate", "--dataset", "faults",
                 "--teacher", str(config)]) == 2
    assert capsys.readouterr().err.startswith("undo-tui: error: ")
    with pytest.raises(Exception, match=message):
        generate.teacher_config(_args(teacher=config))
    assert store.list_runs(db) == []


def test_unknown_dataset_or_empty_split_is_a_clear_error(db, store_path, capsys):
    add_dataset(db, "faults", fault_rows(["[ok]"]))
    base = ["--store", str(store_path), "generate", "--teacher-backend", "openai", "--model",
            "m", "--base-url", "http://127.0.0.1:9/v1"]
    assert main(base + ["--dataset", "nope"]) == 2
    assert "no dataset 'nope'" in capsys.readouterr().err
    assert main(base + ["--dataset", "faults", "--split", "test"]) == 2
    assert "has no 'test' examples (splits stored: train (1))" in capsys.readouterr().err


def test_cli_choices_mirror_the_engine():
    assert generate.KEEP_CHOICES == KEEP_POLICIES
    assert generate.BACKEND_CHOICES == BACKENDS


def test_progress_line_shows_time_counts_speed_elapsed_and_eta(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    p = Progress(done=7, total=20, kept=3, attempted=7, failed=1, cache_hits=2, calls_made=5,
                 completion_tokens=900, elapsed_s=10, tokens_per_s=85.04, eta_s=125)
    assert generate.format_progress(p, now=3600 * 14 + 65) == (
        "14:01:05 teacher 7/20  kept 3/7  failed 1  cached 2  85.0 tok/s  elapsed 0:00:10  "
        "ETA 0:02:05")
    retried = Progress(done=70, total=180, kept=5, attempted=60, failed=0, cache_hits=0,
                       calls_made=70, completion_tokens=9000, elapsed_s=45, tokens_per_s=80,
                       eta_s=80, examples=60, rounds=3)
    assert "teacher 70/180 tries (60 examples, up to 3 each)  kept 5/60" in \
        generate.format_progress(retried)


def _args(**values):
    import argparse

    defaults = dict(teacher=None, teacher_backend=None, model=None, base_url=None,
                    api_key_env=None, concurrency=None, max_tokens=None)
    defaults.update(values)
    return argparse.Namespace(**defaults)


def test_ctrl_c_stops_cleanly_and_the_next_run_resumes(db, store_path, fault_server):
    import signal
    import subprocess
    import sys
    import time

    from tests.fixtures.teacher_fixtures import ROOT, subprocess_env

    n = 16
    add_dataset(db, "faults", fault_rows([f"[ok] {i}" for i in range(n)]))
    fault_server.delay_s = 0.2
    args = [sys.executable, "-m", "undo_tui.cli", "--store", str(store_path), "generate",
            "--dataset", "faults", "--teacher-backend", "openai", "--model", "m",
            "--base-url", fault_server.url, "--concurrency", "2"]
    proc = subprocess.Popen(args, cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while fault_server.total < 4:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopping after the calls in flight" in out and "stopped:" in out
    run = store.list_runs(db)[0].run
    assert run.status == "stopped"
    rows = store.rationales_for_iteration(db, run.id, 1)
    assert 4 <= len(rows) < n and fault_server.total == len(rows)  # in-flight calls finished

    proc = subprocess.run(args, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True,
                          timeout=120)
    assert f"calls made: {n - len(rows)}, served from cache: {len(rows)}" in proc.stdout
    assert store.get_run(db, run.id).status == "finished"


def test_a_stop_requested_in_the_store_stops_the_pass(db, store_path, fault_server,
                                                      fault_teacher_config):
    import asyncio

    from engine.generation.standalone import GenerateSpec, run_generate

    add_dataset(db, "faults", fault_rows([f"[ok] {i}" for i in range(12)]))
    fault_server.delay_s = 0.1
    fault_teacher_config.concurrency = 2
    ui = store.open_store(store_path)  # the TUI's own connection

    def request_stop_after_three(progress):
        if progress.done == 3:
            store.request_stop(ui, store.list_runs(ui)[0].run.id)

    outcome = asyncio.run(run_generate(db, GenerateSpec("faults", teacher=fault_teacher_config),
                                       log_dir=store_path.parent / "logs",
                                       on_progress=request_stop_after_three))
    # the request lands after result 3; the next result sees it, calls in flight finish
    assert outcome.report.stopped and 4 <= outcome.report.rows <= 6
    assert outcome.report.not_started == 12 - outcome.report.rows
    run = store.get_run(db, outcome.run_id)
    assert run.status == "stopped" and store.get_iteration(db, run.id, 1).status == "stopped"
    ui.close()

"""Preflight: `run`, `resume`, `transfer` and `--create-only` check teacher, student, dataset and
disk before a run row is written or any compute is spent, and list every problem at once."""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path

import pytest

import store
from tests.fixtures.teacher_fixtures import add_dataset, free_port
from undo_tui.cli import main


def rows(split: str, n: int) -> list[dict]:
    return [dict(ext_id=f"{split}{i}", split=split, answer="5",
                 question=f"Problem {split} {i}: Tom has 2 apples and gets 3 more. How many?")
            for i in range(n)]


@pytest.fixture
def prepared(tmp_path):
    """A store with dataset 'd' (4 train, 2 val); returns the store path."""
    path = tmp_path / "store.db"
    db = store.open_store(path)
    add_dataset(db, "d", rows("train", 4) + rows("val", 2))
    db.close()
    return path


def write_config(path: Path, student: Path | str, teacher: str, dataset: str = "d") -> Path:
    path.write_text(f'[run]\nname = "pf"\n[dataset]\nname = "{dataset}"\n'
                    f'[student]\nmodel = "{student}"\n[teacher]\n{teacher}\n'
                    '[loop]\nmax_iterations = 1\n')
    return path


def api_teacher(url: str, key_env: str | None = None) -> str:
    lines = f'backend = "openai"\nmodel = "fault-model"\nbase_url = "{url}"\ntimeout_s = 2'
    return lines + (f'\napi_key_env = "{key_env}"' if key_env else "")


def run_count(path: Path) -> int:
    db = store.open_store(path)
    try:
        return len(store.list_runs(db))
    finally:
        db.close()


def fails_with(capsys, argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and "nothing was recorded" in err
    return err


@pytest.mark.parametrize("create_only", [False, True])
def test_every_broken_component_is_listed_before_anything_is_recorded(
        prepared, tmp_path, capsys, create_only):
    config = write_config(tmp_path / "run.toml", tmp_path / "no-student",
                          'model = "/nowhere/teacher.gguf"', dataset="missing")
    argv = ["--store", str(prepared), "run", str(config)] + (["--create-only"] if create_only
                                                             else [])
    err = fails_with(capsys, argv)
    assert "3 problem(s)" in err
    assert "teacher: model: GGUF file '/nowhere/teacher.gguf' does not exist" in err
    assert f"student: model '{tmp_path / 'no-student'}': no such file or directory" in err
    assert "dataset: no dataset 'missing' in this store (datasets: d)" in err
    assert "--no-preflight" in err
    assert run_count(prepared) == 0


def test_a_truncated_teacher_gguf_is_found_before_the_run(prepared, tmp_path, capsys,
                                                          smollm2_gguf, tiny_llama_dir):
    cut = tmp_path / "teacher.gguf"
    with open(smollm2_gguf, "rb") as source, open(cut, "wb") as target:
        target.write(source.read(smollm2_gguf.stat().st_size // 2))  # an interrupted download
    config = write_config(tmp_path / "run.toml", tiny_llama_dir, f'model = "{cut}"')
    err = fails_with(capsys, ["--store", str(prepared), "run", str(config), "--create-only"])
    assert "1 problem(s)" in err and f"teacher: {cut} is damaged or truncated" in err
    assert run_count(prepared) == 0


def test_an_unset_api_key_variable_is_named(prepared, tmp_path, capsys, monkeypatch,
                                            fault_server, tiny_llama_dir):
    monkeypatch.delenv("UNDO_TEST_KEY", raising=False)
    config = write_config(tmp_path / "run.toml", tiny_llama_dir,
                          api_teacher(fault_server.url, "UNDO_TEST_KEY"))
    err = fails_with(capsys, ["--store", str(prepared), "run", str(config)])
    assert "api_key_env names UNDO_TEST_KEY, which is not set" in err
    assert fault_server.gets == 0 and fault_server.total == 0 and run_count(prepared) == 0


def test_an_endpoint_that_refuses_the_key_or_does_not_answer(prepared, tmp_path, capsys,
                                                             monkeypatch, fault_server,
                                                             tiny_llama_dir):
    monkeypatch.setenv("UNDO_TEST_KEY", "wrong")
    fault_server.refuse_key = "Bearer right"
    config = write_config(tmp_path / "run.toml", tiny_llama_dir,
                          api_teacher(fault_server.url, "UNDO_TEST_KEY"))
    err = fails_with(capsys, ["--store", str(prepared), "run", str(config)])
    assert f"teacher: {fault_server.url} refused the key in UNDO_TEST_KEY (HTTP 401)" in err
    assert "wrong" not in err  # the key itself is never printed
    down = f"http://127.0.0.1:{free_port()}/v1"
    config = write_config(tmp_path / "down.toml", tiny_llama_dir, api_teacher(down))
    err = fails_with(capsys, ["--store", str(prepared), "run", str(config)])
    assert f"teacher: {down} does not answer" in err
    assert run_count(prepared) == 0 and fault_server.total == 0  # no paid call


def test_a_good_config_passes_with_one_cheap_request(prepared, tmp_path, capsys, monkeypatch,
                                                     fault_server, tiny_llama_dir):
    monkeypatch.setenv("UNDO_TEST_KEY", "right")
    fault_server.refuse_key = "Bearer right"
    config = write_config(tmp_path / "run.toml", tiny_llama_dir,
                          api_teacher(fault_server.url, "UNDO_TEST_KEY"))
    assert main(["--store", str(prepared), "run", str(config), "--create-only"]) == 0
    assert "run 1 created" in capsys.readouterr().out
    assert fault_server.gets == 1 and fault_server.total == 0  # GET /models, no completion


def test_no_preflight_records_offline_and_resume_checks_again(prepared, tmp_path, capsys):
    config = write_config(tmp_path / "run.toml", tmp_path / "no-student",
                          api_teacher(f"http://127.0.0.1:{free_port()}/v1", "UNSET_KEY_VAR"))
    assert main(["--store", str(prepared), "run", str(config), "--create-only",
                 "--no-preflight"]) == 0
    assert run_count(prepared) == 1
    capsys.readouterr()
    err = fails_with(capsys, ["--store", str(prepared), "resume", "1"])
    assert "UNSET_KEY_VAR" in err and "no-student" in err
    db = store.open_store(prepared)
    assert store.get_run(db, 1).status == "created" and store.list_iterations(db, 1) == []
    db.close()


def test_too_little_disk_for_the_checkpoints(prepared, tmp_path, capsys, monkeypatch,
                                            smollm2_gguf, fault_server):
    import engine.loop.preflight as preflight

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda _path: usage(10**9, 10**9, 10**6))
    config = write_config(tmp_path / "run.toml", smollm2_gguf, api_teacher(fault_server.url))
    err = fails_with(capsys, ["--store", str(prepared), "run", str(config)])
    assert "outputs: 0.0 GB free at" in err
    assert "the checkpoints of 1 iteration(s) need about" in err
    assert run_count(prepared) == 0


def test_more_processes_than_gpus_is_refused(prepared, tmp_path, capsys, monkeypatch,
                                            smollm2_gguf, fault_server):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a machine with 2 GPUs
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    config = write_config(tmp_path / "run.toml", smollm2_gguf, api_teacher(fault_server.url))
    config.write_text(config.read_text() + "\n[training]\nprocesses = 4\n")
    err = fails_with(capsys, ["--store", str(prepared), "run", str(config)])
    assert "training.processes: 4 ranks per node, but this machine shows 2 CUDA device(s)" in err
    assert run_count(prepared) == 0
    config.write_text(config.read_text().replace("processes = 4", "processes = 2"))
    from engine.config import load_config
    from engine.loop.preflight import launcher_problems

    assert launcher_problems(load_config(config)) == []
    config.write_text(config.read_text().replace("processes = 2", 'processes = 4\ndevice = "cpu"'))
    assert launcher_problems(load_config(config)) == []  # CPU ranks leave the GPUs alone


def test_an_unwritable_output_directory_is_listed_with_the_other_problems(
        prepared, tmp_path, capsys, monkeypatch, smollm2_gguf):
    """Tests run as root, where permission bits do not stop writes: the fault (a read-only
    directory) is injected at os.access for the store's folder only."""
    import engine.loop.preflight as preflight

    real_access = preflight.os.access
    folder = prepared.resolve().parent
    monkeypatch.setattr(preflight.os, "access",
                        lambda path, mode: False if Path(path) == folder
                        else real_access(path, mode))
    config = write_config(tmp_path / "run.toml", smollm2_gguf, 'model = "missing.gguf"',
                          dataset="nope")
    err = fails_with(capsys, ["--store", str(prepared), "run", str(config)])
    assert f"outputs: {folder} is not writable" in err
    assert "missing.gguf" in err and "'nope'" in err  # listed together, not the first only
    assert run_count(prepared) == 0


@pytest.mark.parametrize("source_kind", ["--from-export", "--from-run"])
def test_a_transfer_to_a_truncated_student_is_refused_before_recording(tmp_path, capsys,
                                                                       smollm2_gguf,
                                                                       source_kind):
    from tests.transfer_helpers import build_source_store

    store_path = tmp_path / "store.db"
    ids = build_source_store(store_path)
    export = tmp_path / "refined.jsonl"
    assert main(["--store", str(store_path), "export", str(ids["run"]), "--format",
                 "trl-prompt-completion", "--out", str(export)]) == 0
    cut = tmp_path / "student.gguf"
    with open(smollm2_gguf, "rb") as source, open(cut, "wb") as target:
        target.write(source.read(smollm2_gguf.stat().st_size - 4096))  # the last page missing
    source = str(export) if source_kind == "--from-export" else str(ids["run"])
    before = run_count(store_path)
    err = fails_with(capsys, ["--store", str(store_path), "transfer", source_kind, source,
                              "--student", str(cut)])
    assert f"student: {cut} is damaged or truncated" in err
    assert run_count(store_path) == before

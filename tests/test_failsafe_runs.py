"""Runs are never left lying: SIGTERM, SIGINT and SIGHUP stop a real supervisor like a stop
request; a run whose process is gone (pid and start time checked) is `interrupted` in `status`,
the TUI and exports, with the resume command; a failed run's stored error is its cause.

The teacher is the loopback OpenAI-compatible fault server (instant answers) and the student the
tiny random Llama, so each run spends its time in real training and evaluation processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import store
from store.processes import ACTIVE_STATUSES, effective_status, process_start
from tests.fixtures.teacher_fixtures import ROOT, add_dataset, subprocess_env
from tests.test_failsafe_preflight import api_teacher, rows
from undo_tui.cli import main

TRAIN_PROGRESS = ("SELECT count(*) FROM events WHERE run_id = 1 AND kind = 'progress' "
                  "AND stage = 'train'")


def run_config(path: Path, student: Path, teacher_url: str, epochs: int = 60) -> Path:
    path.write_text(f"""
[run]
name = "failsafe"
[dataset]
name = "d"
[teacher]
{api_teacher(teacher_url)}
[student]
model = "{student}"
[training]
epochs = {epochs}
batch_size = 2
lr = 5e-3
dtype = "float32"
max_length = 128
[evaluation]
max_new_tokens = 6
dtype = "float32"
batch_size = 4
evaluate_base = false
[loop]
max_iterations = 1
keep = "all"
""")
    return path


@pytest.fixture
def prepared(tmp_path, fault_server, tiny_llama_dir):
    path = tmp_path / "store.db"
    db = store.open_store(path)
    add_dataset(db, "d", rows("train", 4) + rows("val", 2))
    db.close()
    return path, run_config(tmp_path / "run.toml", tiny_llama_dir, fault_server.url)


def start_supervisor(store_path: Path, config: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "undo_tui.cli", "--store", str(store_path),
                             "run", str(config)], cwd=ROOT, env=subprocess_env(),
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_row(store_path: Path, sql: str, proc: subprocess.Popen, timeout: float = 240):
    """Until the query counts a row (the store is the event), or fail if the process ended."""
    db = store.open_store(store_path)
    try:
        deadline = time.monotonic() + timeout
        while db.execute(sql).fetchone()[0] == 0:
            if proc.poll() is not None:
                raise AssertionError(f"the run ended first:\n{proc.stderr.read()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for: {sql}")
            time.sleep(0.1)
    finally:
        db.close()


def read_run(store_path: Path, run_id: int = 1) -> store.Run:
    db = store.open_store(store_path)
    try:
        return store.get_run(db, run_id)
    finally:
        db.close()


def messages(store_path: Path) -> list[str]:
    db = store.open_store(store_path)
    try:
        return [e.message for e in store.events_since(db, 1, 0, limit=10_000) if e.message]
    finally:
        db.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=lambda s: s.name)
def test_a_signal_stops_the_supervisor_like_a_stop_request(prepared, sig):
    store_path, config = prepared
    proc = start_supervisor(store_path, config)
    wait_for_row(store_path, TRAIN_PROGRESS, proc)
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole foreground group, the stage child too
    else:
        os.kill(proc.pid, sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    run = read_run(store_path)
    assert (run.status, run.stop_reason, run.pid) == ("stopped", "stopped on request", None)
    said = messages(store_path)
    assert f"{sig.name} received: stopping like a stop request" in said
    assert any(m.startswith("training stopped at step") for m in said)  # a checkpoint was saved
    assert "stopped on request" in out and "Traceback" not in err
    db = store.open_store(store_path)
    assert store.get_iteration(db, 1, 1).status == "stopped"
    db.close()


def test_a_killed_run_is_interrupted_in_status_exports_and_the_tui(prepared, capsys):
    store_path, config = prepared
    proc = start_supervisor(store_path, config)
    wait_for_row(store_path, TRAIN_PROGRESS, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    run = read_run(store_path)
    assert run.status == "running" and effective_status(run) == "interrupted"

    assert main(["--store", str(store_path), "status"]) == 0
    listed = capsys.readouterr().out
    assert "interrupted" in listed
    assert f"continue with `undo-tui --store {store_path} resume 1`" in listed
    assert main(["--store", str(store_path), "status", "1"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("run 1 failsafe: interrupted")
    assert f"its engine process (pid {run.pid}) is gone" in shown

    out = store_path.parent / "export.jsonl"
    assert main(["--store", str(store_path), "export", "1", "--iteration", "1", "--format",
                 "trl-messages", "--out", str(out)]) == 0
    assert "run 1 is interrupted" in capsys.readouterr().out
    manifest = json.loads((store_path.parent / "export.jsonl.manifest.json").read_text())
    assert manifest["run"]["status"] == "interrupted"
    assert manifest["run"]["resume"] == "undo-tui resume 1"

    import asyncio

    from undo_tui.app import UndoApp

    async def runs_row():
        app = UndoApp(store_path)
        async with app.run_test(size=(140, 40)) as pilot:
            while type(app.screen).__name__ != "RunsScreen" or app.screen.data is None:
                await pilot.pause(0.05)
            table = app.screen.query_one("#runs-table")
            line = str(app.screen.query_one("#runs-live").render())
            return [str(c) for c in table.get_row_at(0)], line

    cells, line = asyncio.run(runs_row())
    assert cells[2] == "interrupted" and "r resumes" in cells[-1]
    assert f"interrupted: its engine process (pid {run.pid}) is gone" in line


def test_a_reused_pid_is_not_taken_for_the_engine(tmp_path):
    """The pid of a live process that is not the run's (other start time) means interrupted."""
    db = store.open_store(tmp_path / "store.db")
    run_id = store.create_run(db, "r", {})
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        started = process_start(other.pid)
        assert started is not None
        store.update_run(db, run_id, status="running", pid=other.pid, pid_started=started)
        assert effective_status(store.get_run(db, run_id)) == "running"
        boot, ticks = started.rsplit(":", 1)
        store.update_run(db, run_id, pid_started=f"{boot}:{int(ticks) - 1}")
        assert effective_status(store.get_run(db, run_id)) == "interrupted"
        store.update_run(db, run_id, pid_started=started)
    finally:
        other.stdin.close()
        other.wait(timeout=30)
    assert effective_status(store.get_run(db, run_id)) == "interrupted"  # it exited
    db.close()


def test_a_live_supervisor_refuses_a_second_driver(tmp_path):
    from engine.loop.supervisor import drive
    from store.errors import UndoError

    path = tmp_path / "store.db"
    db = store.open_store(path)
    run_id = store.create_run(db, "r", {})
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        store.update_run(db, run_id, status="running", pid=other.pid,
                         pid_started=process_start(other.pid))
        with pytest.raises(UndoError, match=f"already running \\(pid {other.pid}\\)"):
            drive(path, run_id)
    finally:
        other.stdin.close()
        other.wait(timeout=30)
        db.close()


def test_a_failed_stage_stores_its_cause_without_progress_output(tmp_path, fault_server,
                                                                 tiny_llama_dir, capsys):
    """Weights that do not load fail the evaluate stage after transformers drew progress bars:
    the stored error is the cause; the traceback and the bars stay in the log file."""
    student = tmp_path / "student"
    shutil.copytree(tiny_llama_dir, student)
    weights = student / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    path = tmp_path / "store.db"
    db = store.open_store(path)
    add_dataset(db, "d", rows("train", 4) + rows("val", 2))
    db.close()
    config = run_config(tmp_path / "run.toml", student, fault_server.url, epochs=1)
    config.write_text(config.read_text().replace("evaluate_base = false", "evaluate_base = true"))

    assert main(["--store", str(path), "run", str(config)]) == 1
    run = read_run(path)
    assert run.status == "failed"
    assert run.error.startswith("iteration 0 stage evaluate failed: ")
    assert f"(full log: {run.log_path})" in run.error
    assert "%|" not in run.error and "Traceback" not in run.error and "Loading" not in run.error
    assert "Traceback" in Path(run.log_path).read_text()
    assert "Traceback" not in capsys.readouterr().err


def test_a_stage_killed_by_a_signal_reports_the_log_without_progress_bars(tmp_path):
    from engine.loop.failures import stage_error

    log = tmp_path / "run.log"
    log.write_text("loading the student\n"
                   "Loading weights:   0%|          | 0/27 [00:00<?, ?it/s]\r"
                   "Loading weights: 100%|##########| 27/27 [00:00<00:00, 900.1it/s]\n"
                   "step 3 of 10\n")
    db = store.open_store(tmp_path / "store.db")
    run_id = store.create_run(db, "r", {})
    error = stage_error(db, run_id, 2, "train", -signal.SIGKILL, 0, log)
    db.close()
    assert error.startswith("iteration 2 stage train failed (killed by SIGKILL); last log lines")
    assert error.endswith("loading the student\nstep 3 of 10")


def test_closing_the_terminal_stops_the_run(prepared, tmp_path):
    """A real terminal (tmux) closed under a running `undo-tui run`: SIGHUP reaches the whole
    group, the supervisor stops the run like a stop request instead of dying on its output."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    store_path, config = prepared
    socket = str(tmp_path / "tmux.sock")
    env = subprocess_env()
    command = " ".join([sys.executable, "-m", "undo_tui.cli", "--store", str(store_path), "run",
                        str(config)])
    subprocess.run(["tmux", "-S", socket, "new-session", "-d", "-x", "120", "-y", "30",
                    f"cd {ROOT} && PYTHONPATH={env['PYTHONPATH']} {command}"], check=True,
                   env=env)
    try:
        probe = subprocess.Popen(["tmux", "-S", socket, "wait-for", "never"])  # ends with tmux
        wait_for_row(store_path, TRAIN_PROGRESS, probe)
        subprocess.run(["tmux", "-S", socket, "kill-server"], check=True)
        probe.wait(timeout=30)
        deadline = time.monotonic() + 120
        while read_run(store_path).status in ACTIVE_STATUSES:
            assert time.monotonic() < deadline, "the run never stopped"
            time.sleep(0.2)
    finally:
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True)
    run = read_run(store_path)
    assert (run.status, run.stop_reason) == ("stopped", "stopped on request"), run.error
    assert "SIGHUP received: stopping like a stop request" in messages(store_path)

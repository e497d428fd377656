"""Engine control: the exact command lines the TUI spawns, and that the spawned process is detached.

The loop itself (`undo-tui run` / `resume`) is another component with its own tests. Here a
harmless stand-in executable takes the interpreter's place ONLY to observe the spawn mechanics:
which arguments arrive, which session the child is in, where its stdin and stdout point, and
that it outlives the process that started it. It records that and sleeps; it runs no engine code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import store
from tests.fixtures.tui_fixtures import screen_named, wait_for, wait_notified
from undo_tui import engine_control

STANDIN_SOURCE = """\
#!{python}
# SPAWN STAND-IN, NOT THE ENGINE: records how it was started, then sleeps (at most 60 s).
import json, os, sys, time
record = {{
    "argv": sys.argv[1:], "pid": os.getpid(), "ppid": os.getppid(),
    "sid": os.getsid(0), "pgid": os.getpgid(0),
    "stdin": os.readlink("/proc/self/fd/0"), "stdout": os.readlink("/proc/self/fd/1"),
    "stderr": os.readlink("/proc/self/fd/2"),
}}
out = {record_path!r}
with open(out + ".tmp", "w") as handle:
    json.dump(record, handle)
os.replace(out + ".tmp", out)
print("stand-in started", flush=True)
deadline = time.time() + 60
while time.time() < deadline and not os.path.exists(out + ".stop"):
    time.sleep(0.05)
"""


@pytest.fixture
def standin(tmp_path):
    """(path of the stand-in executable, path where it writes its record)."""
    record = tmp_path / "standin-record.json"
    exe = tmp_path / "spawn_standin_NOT_THE_ENGINE"
    exe.write_text(STANDIN_SOURCE.format(python=sys.executable, record_path=str(record)))
    exe.chmod(0o755)
    yield exe, record
    Path(str(record) + ".stop").touch()
    if record.exists():
        pid = json.loads(record.read_text())["pid"]
        _wait_gone(pid, 5)
        if engine_control.pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    engine_control.reap()


def _read_record(record: Path, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while not record.exists():
        if time.monotonic() > deadline:
            raise AssertionError("the stand-in never started")
        time.sleep(0.02)
    return json.loads(record.read_text())


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while engine_control.pid_alive(pid):
        engine_control.reap()
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[run]\nname = "x"\n')
    return path


def test_the_exact_command_lines(tmp_path, config_file):
    store_path = tmp_path / "s.db"
    assert engine_control.run_command(store_path, config_file) == [
        sys.executable, "-m", "undo_tui.cli", "--store", str(store_path.resolve()), "run",
        str(config_file.resolve())]
    assert engine_control.resume_command(store_path, 7) == [
        sys.executable, "-m", "undo_tui.cli", "--store", str(store_path.resolve()), "resume", "7"]


def test_spawn_is_detached_with_its_log_next_to_the_store(tmp_path, config_file, standin):
    exe, record_path = standin
    store_path = tmp_path / "stores" / "s.db"
    store_path.parent.mkdir()
    launched = engine_control.start_run(store_path, config_file, python=str(exe))
    record = _read_record(record_path)
    assert record["pid"] == launched.pid
    assert record["argv"] == ["-m", "undo_tui.cli", "--store", str(store_path.resolve()), "run",
                              str(config_file.resolve())]
    assert launched.argv == [str(exe)] + record["argv"]
    # its own session and process group: no terminal hangup or ctrl-c from the TUI reaches it
    assert record["sid"] == record["pid"] and record["pgid"] == record["pid"]
    assert os.getsid(0) != record["sid"]
    assert record["stdin"] == "/dev/null"
    assert launched.log_path.parent == store_path.parent.resolve() / "logs"
    assert launched.log_path.name.startswith("tui-launch-") and launched.log_path.suffix == ".log"
    assert record["stdout"] == record["stderr"] == str(launched.log_path)
    deadline = time.monotonic() + 10
    while "stand-in started" not in launched.log_path.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert launched.log_path.read_text().startswith(f"$ {exe} -m undo_tui.cli --store ")


def test_the_spawned_process_outlives_the_process_that_started_it(tmp_path, config_file, standin):
    exe, record_path = standin
    store_path = tmp_path / "s.db"
    parent = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            from undo_tui import engine_control
            launched = engine_control.start_run({str(store_path)!r}, {str(config_file)!r},
                                                python={str(exe)!r})
            print(launched.pid)
        """)], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[1])
    assert parent.returncode == 0, parent.stderr
    pid = int(parent.stdout.strip())
    record = _read_record(record_path)
    assert record["pid"] == pid
    time.sleep(0.2)
    assert engine_control.pid_alive(pid), "the run died with the process that launched it"


def test_a_missing_or_unreadable_config_is_refused_before_spawning(tmp_path):
    with pytest.raises(store.UndoError, match="no such file"):
        engine_control.start_run(tmp_path / "s.db", tmp_path / "missing.toml")
    with pytest.raises(store.UndoError, match="not a file"):
        engine_control.validate_config(tmp_path)
    with pytest.raises(store.UndoError, match="give the path"):
        engine_control.validate_config("  ")
    assert not (tmp_path / "logs").exists()


def test_a_child_is_reaped_as_soon_as_it_exits(tmp_path, standin):
    """No <defunct> process is left while the TUI runs, whichever screen is showing."""
    exe, record_path = standin
    launched = engine_control.spawn([str(exe)], tmp_path / "store.db")
    pid = _read_record(record_path)["pid"]
    assert pid == launched.pid
    Path(str(record_path) + ".stop").touch()
    deadline = time.monotonic() + 15
    while os.path.exists(f"/proc/{pid}"):  # a zombie keeps its /proc entry until reaped
        assert time.monotonic() < deadline, f"pid {pid} was never reaped"
        time.sleep(0.05)


def test_resume_rules():
    run = store.Run(1, "r", "undo", None, None, None, {}, None, None, "running", None, 123, False,
                    None, None, None, None, "", None, None)
    assert engine_control.can_resume(run, alive=True) == (
        False, "run 1 is still running (pid 123)")
    assert engine_control.can_resume(run, alive=False)[0]
    finished = store.Run(**{**run.__dict__, "status": "finished"})
    assert not engine_control.can_resume(finished, alive=False)[0]


# -- the same through the TUI ---------------------------------------------------------------------

async def _runs_screen(pilot):
    return await wait_for(pilot, lambda: (s := screen_named(pilot.app, "RunsScreen"))
                          and s.data and s, what="runs screen")


@pytest.mark.anyio
@pytest.mark.usefixtures("tui_env")
async def test_new_run_from_the_runs_screen_spawns_the_run_command(tui_store, config_file,
                                                                   standin):
    from undo_tui.app import UndoApp

    path, _ = tui_store
    exe, record_path = standin
    app = UndoApp(path, engine_python=str(exe))
    async with app.run_test(size=(120, 40)) as pilot:
        await _runs_screen(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: screen_named(app, "InputDialog"), what="config dialog")
        await pilot.press(*"/no/such.toml", "enter")
        await pilot.pause(0.1)
        error = app.screen.query_one("#dialog-error").render()
        assert "no such file" in str(error)
        app.screen.query_one("Input").value = str(config_file)
        await pilot.press("enter")
        record = _read_record(record_path)
        assert record["argv"] == ["-m", "undo_tui.cli", "--store", str(path.resolve()), "run",
                                  str(config_file.resolve())]
        assert record["sid"] == record["pid"]


@pytest.mark.anyio
@pytest.mark.usefixtures("tui_env")
async def test_resume_and_stop_from_the_runs_screen(tui_store, standin):
    from undo_tui.app import UndoApp

    path, ids = tui_store
    exe, record_path = standin
    app = UndoApp(path, engine_python=str(exe))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _runs_screen(pilot)
        assert screen.selected().run.id == ids["live"]  # newest first
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.selected().run.status == "stopping",
                       what="stop request shown")
        db = store.open_store(path)
        try:
            assert store.stop_requested(db, ids["live"])
        finally:
            db.close()
        # its engine is gone (no live pid), so it can be resumed
        await pilot.press("r")
        record = _read_record(record_path)
        assert record["argv"] == ["-m", "undo_tui.cli", "--store", str(path.resolve()), "resume",
                                  str(ids["live"])]
        # a finished run is not resumed
        await pilot.press("G")
        await pilot.press("r")
        await wait_notified(pilot, "already finished")


@pytest.mark.anyio
@pytest.mark.usefixtures("tui_env")
async def test_resume_checks_the_store_not_the_screen_before_spawning(tui_store, standin):
    """The dashboard shows the run stopped, but it finished since: r starts nothing."""
    from undo_tui.app import UndoApp

    path, ids = tui_store
    exe, record_path = standin
    db = store.open_store(path)
    store.update_run(db, ids["live"], status="stopped", pid=None)
    app = UndoApp(path, engine_python=str(exe), poll_interval=600)
    async with app.run_test(size=(120, 40)) as pilot:
        await _runs_screen(pilot)
        app.open_dashboard(ids["live"])
        dash = await wait_for(pilot, lambda: (s := screen_named(app, "DashboardScreen"))
                              and s.data and s, what="dashboard")
        assert dash.data.run.status == "stopped"
        store.update_run(db, ids["live"], status="finished", stop_reason="iteration cap")
        await pilot.press("r")
        await wait_notified(pilot, "already finished")
        assert not record_path.exists() and not engine_control._children
    db.close()


def test_path_completion_from_the_disk(tmp_path):
    from undo_tui.widgets.path_suggester import complete_path

    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "demo.toml").write_text("")
    (tmp_path / "configs" / "gsm8k.toml").write_text("")
    (tmp_path / "configs" / "notes.md").write_text("")
    (tmp_path / "configs" / ".hidden.toml").write_text("")
    base = f"{tmp_path}/"
    assert complete_path(base + "co", (".toml",)) == base + "configs/"
    assert complete_path(base + "configs/d", (".toml",)) == base + "configs/demo.toml"
    assert complete_path(base + "configs/n", (".toml",)) is None  # not a config
    assert complete_path(base + "configs/", (".toml",)) == base + "configs/demo.toml"
    assert complete_path(base + "configs/demo.toml", (".toml",)) is None
    assert complete_path(base + "nowhere/x", (".toml",)) is None


@pytest.mark.anyio
@pytest.mark.usefixtures("tui_env")
async def test_the_new_run_dialog_starts_in_the_shipped_configs_and_completes_paths(
        tui_store, standin, monkeypatch):
    from undo_tui.app import UndoApp

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    path, _ = tui_store
    exe, record_path = standin
    app = UndoApp(path, engine_python=str(exe))
    async with app.run_test(size=(120, 40)) as pilot:
        await _runs_screen(pilot)
        await pilot.press("n")
        dialog = await wait_for(pilot, lambda: screen_named(app, "InputDialog"))
        field = dialog.query_one("Input")
        assert field.value == "sample_runs/configs/"
        field.value = ""
        await pilot.press(*"sample_runs/co")
        await wait_for(pilot, lambda: field._suggestion, what="a suggestion")
        await pilot.press("right")
        assert field.value == "sample_runs/configs/"
        await pilot.press("d")
        await wait_for(pilot, lambda: field._suggestion, what="a suggestion")
        await pilot.press("right", "enter")
        record = _read_record(record_path)
        assert record["argv"][-1] == str(root / "sample_runs" / "configs" / "demo.toml")

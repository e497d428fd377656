"""Starting, resuming and stopping runs from the TUI, through the engine's process interface.

The TUI never runs teacher, training or evaluation code in its own process. It starts the same
command a user would type (`undo-tui --store STORE run CONFIG`, `... resume RUN`) as a detached
background process: its own session (so closing the terminal or quitting the TUI does not signal
it), stdin from /dev/null, stdout and stderr appended to `<store dir>/logs/tui-launch-<time>.log`.
Stopping is a request written to the store, which the engine polls between steps.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import store
from store.processes import ACTIVE_STATUSES
from store.processes import pid_alive, run_alive  # noqa: F401 - the screens call them here
from store.errors import UndoError

CLI_MODULE = "undo_tui.cli"


@dataclass(frozen=True)
class Launched:
    pid: int
    argv: list[str]
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False, compare=False)


def run_command(store_path: str | Path, config_path: str | Path,
                python: str | None = None) -> list[str]:
    """The exact command line that starts a new run from a config file."""
    return [python or sys.executable, "-m", CLI_MODULE, "--store", _abs(store_path), "run",
            _abs(config_path)]


def resume_command(store_path: str | Path, run_id: int, python: str | None = None) -> list[str]:
    """The exact command line that resumes a run."""
    return [python or sys.executable, "-m", CLI_MODULE, "--store", _abs(store_path), "resume",
            str(int(run_id))]


def transfer_create_command(store_path: str | Path, run_id: int, iteration: str, student: str,
                            *, name: str | None = None, epochs: int | None = None,
                            correct_only: bool = False, refined_only: bool = False,
                            python: str | None = None) -> list[str]:
    """`undo-tui transfer --from-run RUN ... --create-only`: export, validate, record; no training."""
    argv = [python or sys.executable, "-m", CLI_MODULE, "--store", _abs(store_path), "transfer",
            "--from-run", str(int(run_id)), "--iteration", iteration or "best",
            f"--student={student}", "--create-only"]  # (=: a value may start with "-")
    if name:
        argv.append(f"--name={name}")
    if epochs is not None:
        argv += ["--epochs", str(int(epochs))]
    if correct_only:
        argv.append("--correct-only")
    if refined_only:
        argv.append("--refined-only")
    return argv


CREATED = re.compile(r"^run (\d+) created: ", re.MULTILINE)
STARTED = re.compile(r"^run (\d+) (?:created|resuming): ", re.MULTILINE)  # checks passed


def create_transfer(store_path: str | Path, run_id: int, iteration: str, student: str,
                    timeout: float = 600, **options) -> int:
    """Record a transfer run through the CLI (it exports the iteration and checks the student
    in its own process: engine code never loads here); its id, or an UndoError with the CLI's
    own message. Training starts separately (resume_run), detached."""
    argv = transfer_create_command(store_path, run_id, iteration, student, **options)
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    found = CREATED.search(done.stdout)
    if done.returncode != 0 or found is None:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        last = lines[-1].removeprefix("undo-tui: error: ") if lines else \
            f"`undo-tui transfer` exited with {done.returncode}"
        raise UndoError(last)
    return int(found.group(1))


def _abs(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())


def launch_log_path(store_path: str | Path) -> Path:
    """A new log file next to the store: `<store dir>/logs/tui-launch-<time>.log`."""
    logs = Path(_abs(store_path)).parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = logs / f"tui-launch-{stamp}.log"
    n = 1
    while candidate.exists():
        n += 1
        candidate = logs / f"tui-launch-{stamp}-{n}.log"
    return candidate


def spawn(argv: list[str], store_path: str | Path) -> Launched:
    """Start argv detached from this process; returns at once with its pid and log file."""
    log_path = launch_log_path(store_path)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   close_fds=True, env=env)
    _children.append(process)
    # Reaped the moment it exits, whichever screen is showing (no <defunct> left behind).
    threading.Thread(target=_reap_when_done, args=(process,), name=f"reap {process.pid}",
                     daemon=True).start()
    return Launched(process.pid, list(argv), log_path, process)


def refusal_before_start(launched: Launched, cancelled=lambda: False,
                             poll_s: float = 0.1) -> str | None:
    """What `undo-tui run` or `resume` said if it exited before its run started (a bad config,
    the preflight's problems): the process is detached and writes only to its log, so without
    this the user would see "started" and then nothing. None once the run is recorded or
    resumed (or the process exits cleanly), or when the caller gives up waiting."""
    process = launched.process
    while process is not None and not cancelled():
        code = process.poll()
        text = launch_output(launched.log_path)  # read after poll: an exit's last words are in
        if STARTED.search(text):
            return None
        if code == 0:
            return None
        if code is not None:
            return cli_error(text) or f"the engine exited with {code} before starting"
        time.sleep(poll_s)
    return None


def launch_output(log_path: Path) -> str:
    """The process's own output: the log file without its first line (the command)."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return ""
    return text.partition("\n")[2]


def cli_error(text: str, limit: int = 2000) -> str:
    start = text.rfind("undo-tui: error: ")
    message = text[start:].removeprefix("undo-tui: error: ") if start >= 0 else text
    return message.strip()[-limit:]


_children: list[subprocess.Popen] = []


def _reap_when_done(process: subprocess.Popen) -> None:
    process.wait()
    reap()


def reap() -> None:
    """Forget children that have exited (each is waited for by its own thread)."""
    for process in list(_children):
        if process.poll() is not None:
            _children.remove(process)


def shipped_configs_dir() -> Path | None:
    """Where the shipped run configs are (sample_runs/configs in a checkout, engine/configs when
    installed), found without importing the engine: the new-run dialog starts there."""
    import importlib.util

    spec = importlib.util.find_spec("engine")
    for root in (spec.submodule_search_locations or []) if spec else []:
        demo = Path(root) / "configs" / "demo.toml"
        if demo.exists():
            return demo.resolve().parent  # in a checkout a link into sample_runs/configs
    return None


def config_dialog_start(cwd: Path | None = None) -> str:
    """The new-run dialog's first value: the shipped configs' folder, relative when it can be."""
    folder = shipped_configs_dir()
    if folder is None:
        return ""
    try:
        folder = folder.relative_to((cwd or Path.cwd()).resolve())
    except ValueError:
        pass
    return f"{folder}{os.sep}"


def validate_config(config_path: str | Path) -> Path:
    """The config file as an absolute path, or an UndoError naming what is wrong with it."""
    text = str(config_path).strip()
    if not text:
        raise UndoError("give the path of a run configuration file (TOML)")
    path = Path(text).expanduser()
    if not path.exists():
        raise UndoError(f"{path}: no such file")
    if not path.is_file():
        raise UndoError(f"{path}: not a file")
    try:
        path.open("rb").close()
    except OSError as exc:
        raise UndoError(f"{path}: cannot be read ({exc.strerror})") from exc
    return path.resolve()


def start_run(store_path: str | Path, config_path: str | Path,
              python: str | None = None) -> Launched:
    config = validate_config(config_path)
    return spawn(run_command(store_path, config, python), store_path)


def resume_run(store_path: str | Path, run_id: int, python: str | None = None) -> Launched:
    return spawn(resume_command(store_path, run_id, python), store_path)


def resume_checked(db, store_path: str | Path, run_id: int,
                   python: str | None = None) -> Launched:
    """Resume a run after checking, in the store as it is now, that resuming means something:
    a screen's copy of the run may be a poll old. An UndoError says why not; nothing starts."""
    run = store.get_run(db, run_id)
    ok, why = can_resume(run, pid_alive(run.pid) if run.pid else False)
    if not ok:
        raise UndoError(why)
    return resume_run(store_path, run_id, python)


def stop_run(db, run_id: int) -> None:
    """Ask the engine to stop the run at its next check (between batches and steps)."""
    store.request_stop(db, run_id)


def can_resume(run: store.Run, alive: bool) -> tuple[bool, str]:
    """Whether resuming makes sense, and why not."""
    if run.status == "finished":
        return False, f"run {run.id} already finished"
    if run.status in ACTIVE_STATUSES and alive:
        return False, f"run {run.id} is still running (pid {run.pid})"
    return True, ""

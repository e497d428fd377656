"""Whether the process recorded in runs.pid is alive: the supervisor refuses a second driver, and
`status`, the TUI and exports show a run whose engine is gone as `interrupted`, so every layer
reads it here.

A pid alone can be reused by an unrelated process after the engine died, so the process's start
time is recorded beside it (runs.pid_started) and compared too.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from store.errors import UndoError

ACTIVE_STATUSES = ("running", "stopping")
INTERRUPTED = "interrupted"


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this pid exists on this machine and is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def process_start(pid: int) -> str | None:
    """The process's start time as '<boot id>:<clock ticks since boot>' (Linux), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # fields[0] is field 3 (state); 22 is starttime
    return f"{_boot_id()}:{fields[19]}" if len(fields) > 19 else None


@functools.cache
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "?"


def process_alive(pid: int | None, started: str | None) -> bool:
    """The pid is alive and, when its start time was recorded, is still that same process."""
    if not pid_alive(pid):
        return False
    if started is None:
        return True  # recorded without a start time: the pid is all we can check
    now = process_start(pid)
    return now is None or now == started


def run_alive(run) -> bool:
    """Whether the engine process recorded for a run (a store.Run) still runs."""
    return process_alive(run.pid, run.pid_started)


def refuse_second_driver(run) -> None:
    """A run that another live process is driving may not be driven again (supervisor, sweep)."""
    if run.status in ACTIVE_STATUSES and run.pid != os.getpid() and run_alive(run):
        raise UndoError(f"run {run.id} is already running (pid {run.pid}); "
                        f"stop it with `undo-tui stop {run.id}` first")


def effective_status(run) -> str:
    """The status to show: `interrupted` for a running or stopping run whose recorded process is
    gone (killed, crashed, machine restarted); the stored status otherwise."""
    if run.status in ACTIVE_STATUSES and run.pid and not run_alive(run):
        return INTERRUPTED
    return run.status


def resume_hint(run_id: int, store_path: str | Path | None = None) -> str:
    """The command that continues a run."""
    where = f" --store {store_path}" if store_path is not None else ""
    return f"undo-tui{where} resume {run_id}"

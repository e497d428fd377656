"""Whether the process recorded in runs.pid is alive: the supervisor refuses a second driver and
the TUI shows a dead engine, so both layers read it here."""

from __future__ import annotations

import os


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


def refuse_second_driver(run) -> None:
    """A run that another live process is driving may not be driven again (supervisor, sweep)."""
    from store.errors import UndoError
    from store.runs import ACTIVE_STATUSES

    if run.status in ACTIVE_STATUSES and run.pid != os.getpid() and pid_alive(run.pid):
        raise UndoError(f"run {run.id} is already running (pid {run.pid}); "
                        f"stop it with `undo-tui stop {run.id}` first")

"""A run computed in the calling process (a Training Wheels sweep, a distillation): the life of
its row, the same for every such kind.

It refuses a second driver, marks the run running with this process's pid, and ends it
`finished` (with the reason the work returns), `stopped` (a stop request, read between steps
by `stop_checker`, or Ctrl-C; `resume` continues) or `failed` (the error stored, an unexpected
exception wrapped in StageFailed so the CLI says it in one line).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import store
from engine.errors import StageFailed
from engine.loop.signals import StopSignals
from store.errors import UndoError
from store.processes import process_start, refuse_second_driver

Echo = Callable[[str], None]
# (db, run, echo) -> why the run finished, in a few words
Work = Callable[[object, store.Run, Echo], str]


class Stopped(Exception):
    """A stop request was honoured; what was finished is stored."""


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_dir(store_path: Path, run_id: int) -> Path:
    """Where a run keeps its files: runs/run-N beside the store."""
    return Path(store_path).resolve().parent / "runs" / f"run-{run_id}"


def log_path(store_path: Path, run_id: int) -> str:
    return str(Path(store_path).resolve().parent / "logs" / f"run-{run_id}.log")


def drive_here(store_path: Path, run_id: int, kind: str, what: str, work: Work,
               echo: Echo | None = None) -> store.Run:
    """Run `work` for a run of `kind` (`what`: its name in messages) in this process; returns
    the final run row."""
    echo = echo or (lambda _line: None)
    db = store.open_store(store_path)
    try:
        run = store.get_run(db, run_id)
        if run.kind != kind:
            raise UndoError(f"run {run_id} is a {run.kind} run, not a {what}")
        refuse_second_driver(run)
        if run.status == "finished":
            echo(f"run {run_id} already finished: {run.stop_reason}")
            return run
        store.clear_stop_request(db, run_id)
        store.update_run(db, run_id, status="running", pid=os.getpid(),
                         pid_started=process_start(os.getpid()), error=None,
                         started_at=run.started_at or now_iso(), finished_at=None)
        store.add_event(db, run_id, "stage", message=f"{kind} started (pid {os.getpid()})")
        with StopSignals() as signals:  # SIGTERM, SIGINT, SIGHUP: a stop request
            _SIGNALS.append(signals)
            try:
                _work(db, run_id, work, echo)
            finally:
                _SIGNALS.remove(signals)
        return store.get_run(db, run_id)
    finally:
        db.close()


def _work(db, run_id: int, work: Work, echo: Echo) -> None:
    try:
        reason = work(db, store.get_run(db, run_id), echo)
    except (Stopped, KeyboardInterrupt) as exc:
        store.update_run(db, run_id, status="stopped", stage=None, pid=None,
                         stop_reason="stopped on request", finished_at=now_iso())
        store.add_event(db, run_id, "stage", message="stopped on request; resume continues here")
        echo("stopped on request")
        if isinstance(exc, KeyboardInterrupt):
            raise
    except Exception as exc:
        store.update_run(db, run_id, status="failed", stage=None, pid=None, error=str(exc),
                         finished_at=now_iso())
        store.add_event(db, run_id, "error", message=str(exc))
        if isinstance(exc, UndoError):
            raise
        raise StageFailed(f"{type(exc).__name__}: {exc}") from exc
    else:
        store.update_run(db, run_id, status="finished", stage=None, pid=None,
                         stop_reason=reason, finished_at=now_iso())
        store.add_event(db, run_id, "stage", message=f"finished: {reason}")
        echo(f"finished: {reason}")


# The signal handlers of the drive in progress: its work builds its stop checks deep inside
# (a sweep's points, a trainer's callback), so they find the handlers here rather than through
# every signature. A signal handler only notes the signal; the check writes the stop request.
_SIGNALS: list[StopSignals] = []


# How often a stop check reads the store; a test that must stop after an exact step sets 0.
STOP_CHECK_S = 0.5


def stop_checker(db, run_id: int, every_s: float | None = None) -> Callable[[], bool]:
    """Whether a stop was requested (or a stop signal received), read from the store at most
    every `every_s` seconds (STOP_CHECK_S unless given)."""
    every_s = STOP_CHECK_S if every_s is None else every_s
    state = {"at": 0.0, "value": False}

    def should_stop() -> bool:
        for signals in _SIGNALS:
            signals.forward(db, run_id)
        now = time.monotonic()
        if not state["value"] and now - state["at"] >= every_s:
            state["at"] = now
            state["value"] = store.stop_requested(db, run_id)
        return state["value"]

    return should_stop

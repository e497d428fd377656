"""SIGTERM, SIGINT and SIGHUP stop a supervisor the way `undo-tui stop` does.

The handler only notes the signal: it may run in the middle of a store transaction, so the
supervisor turns it into a stop request (runs.stop_requested) at its next check, at most half a
second later. The stage child then stores what it finished (training saves a checkpoint) and
exits, and the run ends `stopped`. A second Ctrl-C aborts at once (KeyboardInterrupt); the run is
then shown `interrupted` and resumes like any other.
"""

from __future__ import annotations

import os
import signal
import stat

import store

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class StopSignals:
    """Install the handlers for the duration of a `with` block (main thread only)."""

    def __init__(self) -> None:
        self.received: str | None = None
        self.forwarded = False
        self.saved: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if signum == signal.SIGHUP:
            _output_to_devnull()  # the terminal is gone: a progress line written to it would fail
        self.received = signal.Signals(signum).name

    def forward(self, db, run_id: int) -> None:
        """Write the stop request for a signal received since the last check."""
        if self.received is None or self.forwarded:
            return
        self.forwarded = True
        store.request_stop(db, run_id)
        store.add_event(db, run_id, "stage", message=f"{self.received} received: stopping "
                                                     "like a stop request")

    def __enter__(self) -> StopSignals:
        for sig in STOP_SIGNALS:
            try:
                self.saved[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (a test driving the loop from a thread)
                pass
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


def _output_to_devnull() -> None:
    """Point a terminal stdout and stderr at /dev/null (writes to a hung-up terminal raise EIO;
    isatty may already fail on it, so any character device counts); pipes and files stay."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            if stat.S_ISCHR(os.fstat(fd).st_mode):
                os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def ignore_terminal_signals() -> None:
    """In a stage child: Ctrl-C and a closed terminal reach the whole process group; the
    supervisor decides for its child and asks it to stop through the store."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)

"""The TUI's access to the store: a connection per worker thread, and one that a screen's
workers share.

StoreHandle gives each thread its own SQLite connection (Textual runs thread workers on a
pool). Connections are never closed from another thread: a worker may be in the middle of a
query, and closing a connection under a running statement crashes CPython's sqlite3 (CI saw it
as a segfault when the app unmounted during a dashboard load). close() drops the references
instead, so each connection is freed once the last code using it lets go.

SharedConnection: why not the per-thread connections for the errors browser's pages: a search's
matches live in TEMP tables of the connection that ran it (store.search), and Textual runs each
worker on whichever pool thread is free. With one connection per thread, the search made ready
while the user typed (a prefetch) would sit on another thread's connection when the page load
after Enter runs. Sharing one connection keeps that work, and the connection's page cache, for
every page load. Prefetches are work nobody waits for: whoever asks for the connection while one
runs interrupts it (sqlite3's Connection.interrupt is safe from another thread; the interrupted
statement is rolled back whole). Page loads wait their turn.

interrupt() alone misses a prefetch that holds the connection but has not started its statement
yet (SQLite ignores an interrupt when nothing runs), and the page load would then wait for the
whole prefetch. So a waiter also raises a flag that the connection's progress handler reads
every PROGRESS_STEPS virtual-machine steps: the prefetch's next statement stops at once.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import store

PROGRESS_STEPS = 10_000  # SQLite VM steps between looks at the flag: microseconds of work


class StoreHandle:
    """One SQLite connection per thread; close() drops them (see the module's docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser().resolve()
        self._local = threading.local()
        self.closed = False

    def db(self):
        if self.closed:
            raise store.UndoError(f"{self.path}: the store was closed")
        local = self._local
        db = getattr(local, "db", None)
        if db is None:
            db = store.connect(self.path)
            local.db = db
        return db

    def close(self) -> None:
        self.closed = True
        self._local = threading.local()


def interrupted(exc: BaseException) -> bool:
    """Whether an exception is SQLite's answer to Connection.interrupt()."""
    return isinstance(exc, sqlite3.OperationalError) and "interrupt" in str(exc)


class SharedConnection:
    """One connection for a screen's workers, taken in turns; a prefetch yields to a page load."""

    def __init__(self, handle: StoreHandle) -> None:
        self.handle = handle
        self._lock = threading.Lock()  # held by the worker using the connection
        self._state = threading.Lock()  # guards who holds it, so an interrupt hits a prefetch
        self._db = None
        self._prefetching = False  # the holder is a prefetch: it may be interrupted
        self._wanted = False  # someone waits for the connection: a prefetch must stop

    @contextlib.contextmanager
    def use(self, *, prefetch: bool = False) -> Iterator:
        """The connection, for one worker at a time; a running prefetch is interrupted."""
        with self._state:
            if self._prefetching and self._db is not None:
                self._wanted = True
                self._db.conn.interrupt()
        self._lock.acquire()
        try:
            if self._db is None:
                if self.handle.closed:
                    raise store.UndoError(f"{self.handle.path}: the store was closed")
                self._db = store.connect(self.handle.path)
                self._db.conn.set_progress_handler(self._prefetch_must_stop, PROGRESS_STEPS)
            with self._state:
                self._prefetching = prefetch
                self._wanted = False
            yield self._db
        finally:
            with self._state:
                self._prefetching = False
                self._wanted = False
                self._lock.release()

    def _prefetch_must_stop(self) -> bool:
        """SQLite's progress handler: a true answer ends the running statement as interrupted."""
        return self._prefetching and self._wanted

    def close(self) -> None:
        self._db = None

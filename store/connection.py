"""Opening a store: one SQLite file, WAL, a busy timeout, foreign keys, migrations applied.

Concurrency model: the engine is the main writer, the TUI reads (and writes small things: tags,
notes, stop requests). WAL lets readers run while a writer commits; every write transaction starts
with BEGIN IMMEDIATE so two writers queue on the busy timeout instead of failing on a lock upgrade.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlite_utils import Database

from store.errors import SchemaTooNew, UndoError
from store.identify import check_store_file, is_new
from store.schema import MIGRATION_SET, known_migrations, migrations

BUSY_TIMEOUT_MS = 30_000


def connect(path: str | Path) -> Database:
    """A configured connection without running migrations (for callers that migrate themselves)."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal" and str(path) != ":memory:":
        raise UndoError(f"{path}: could not switch the store to WAL mode (got {mode!r})")
    # NORMAL is durable against a killed process in WAL mode; only power loss can drop the
    # last commits, never corrupt the file.
    conn.execute("PRAGMA synchronous = NORMAL")
    return Database(conn)


def open_store(path: str | Path) -> Database:
    """Open (creating or upgrading) the store at `path`.

    A new store is created only where no file is, or an empty one; any other file that is not an
    undo-tui store is refused unchanged (store.identify). A store written by a newer schema is
    refused; an upgrade of an existing store makes a backup copy next to it first
    (`<name>.backup-<last-migration>.db`).
    """
    path = Path(path)
    check_store_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_new(path):
        _create(path)
    db = connect(path)
    try:
        _check_not_newer(db, path)
        if migrations.pending(db):
            with _migration_lock(path):
                pending = migrations.pending(db)  # another process may have migrated meanwhile
                applied = migrations.applied(db)
                if pending and applied:
                    backup_store(db, _backup_path(path, applied[-1].name))
                if pending:
                    migrations.apply(db)
    except BaseException:
        db.close()
        raise
    return db


def _create(path: Path) -> None:
    """Build a new store beside `path` and move it into place whole, so a store is never seen
    half-made (a kill during creation leaves only a temporary file behind)."""
    with _migration_lock(path):
        if not is_new(path):
            return  # another process created it meanwhile
        temp = path.with_name(f".{path.name}.creating-{os.getpid()}")
        _remove_with_sidecars(temp)
        db = connect(temp)
        try:
            migrations.apply(db)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
        os.replace(temp, path)
        _remove_with_sidecars(temp)


def _remove_with_sidecars(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def _check_not_newer(db: Database, path: Path) -> None:
    known = set(known_migrations())
    unknown = [m.name for m in migrations.applied(db) if m.name not in known]
    if unknown:
        raise SchemaTooNew(
            f"{path} was written by a newer version of undo-tui (schema migrations "
            f"{', '.join(unknown)} in set {MIGRATION_SET!r} are unknown here); "
            "upgrade undo-tui to open it. The file was not changed."
        )


def _backup_path(path: Path, last_migration: str) -> Path:
    return path.with_name(f"{path.stem}.backup-{last_migration}{path.suffix or '.db'}")


def backup_store(db: Database, target: Path) -> Path:
    """A consistent online copy of the store (SQLite's backup API), safe while others write."""
    target.parent.mkdir(parents=True, exist_ok=True)
    dest = sqlite3.connect(str(target))
    try:
        db.conn.backup(dest)
    finally:
        dest.close()
    return target


@contextlib.contextmanager
def _migration_lock(path: Path) -> Iterator[None]:
    """Serialise migrations when two processes open a fresh store at the same moment."""
    lock_path = path.with_name(path.name + ".migrate-lock")
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def write(db: Database) -> Iterator[Database]:
    """One write transaction (BEGIN IMMEDIATE); nested calls become savepoints."""
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")

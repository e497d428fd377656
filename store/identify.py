"""What a file given as a store is, decided without changing it in any byte.

A path becomes a new store only when it does not exist or is empty (0 bytes). Anything else must
already be an undo-tui store (its `_sqlite_migrations` table holds this migration set): a SQLite
file of another application, or a file that is not a database at all, is refused before SQLite
writes to it (no WAL switch, no tables, no lock file beside it).

A file with no `-wal` or `-shm` beside it is read in SQLite's `immutable=1` mode, which takes no
locks and creates no files. A file with one (in use, or its last user was killed) is read through
an ordinary read-only connection, which sees the newest commits in the `-wal` file and keeps the
locks of this process's other connections intact (see `_wal_beside`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from store.errors import NotAStore
from store.schema import MIGRATION_SET

SQLITE_MAGIC = b"SQLite format 3\x00"
MIGRATIONS_TABLE = "_sqlite_migrations"
LISTED_TABLES = 6


@dataclass(frozen=True)
class FileLook:
    tables: list[str]
    ours: bool  # the migrations table names this migration set


def is_new(path: Path) -> bool:
    """No file yet, or an empty one: the only paths a new store is created at."""
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return True


def check_store_file(path: Path) -> None:
    """Raise NotAStore unless `path` is new or an undo-tui store; never writes to it."""
    if is_new(path):
        return
    if path.is_dir():
        raise NotAStore(f"{path} is a directory, not an undo-tui store; give the store's .db file")
    look = _look(path, immutable=False) if _wal_beside(path) else _look_unused(path)
    if look is None:
        raise NotAStore(f"{path} is not an undo-tui store: SQLite cannot read it (damaged or "
                        f"not a database). {_untouched_hint(path)}")
    if not look.ours:
        raise NotAStore(f"{path} is not an undo-tui store: it is a SQLite database of another "
                        f"application ({_tables(look.tables)}). {_untouched_hint(path)}")


def _wal_beside(path: Path) -> bool:
    """A -wal or -shm file (even empty): the database is in WAL mode and in use, or its last
    user was killed.

    Then this process may itself hold a connection to it, whose POSIX locks would all be
    released by closing any other descriptor of the file (a Python `open`, an immutable
    connection): another process could then take the file for unused and delete its WAL. So it is
    read only through an ordinary read-only connection, whose descriptors SQLite keeps.
    """
    return any(path.with_name(path.name + suffix).exists() for suffix in ("-wal", "-shm"))


def _look_unused(path: Path) -> FileLook | None:
    """No -wal or -shm file: nobody has the file open in WAL mode, so reading its bytes is safe;
    the immutable mode reads without locks and creates no -wal or -shm file beside it."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise NotAStore(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if header != SQLITE_MAGIC:
        raise NotAStore(f"{path} is not an undo-tui store: it is not a database (no SQLite "
                        f"header in its {path.stat().st_size:,} bytes). {_untouched_hint(path)}")
    return _look(path, immutable=True)


def _look(path: Path, immutable: bool) -> FileLook | None:
    """The tables and whether the migrations table is ours; None when SQLite cannot read it."""
    flags = "immutable=1" if immutable else "mode=ro"
    uri = f"file:{quote(str(path.resolve()))}?{flags}"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        return None
    try:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        ours = MIGRATIONS_TABLE in tables and conn.execute(
            f"SELECT count(*) FROM {MIGRATIONS_TABLE} WHERE migration_set = ?",
            [MIGRATION_SET]).fetchone()[0] > 0
        return FileLook(tables, bool(ours))
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _tables(tables: list[str]) -> str:
    if not tables:
        return "no tables"
    shown = ", ".join(tables[:LISTED_TABLES])
    more = f" and {len(tables) - LISTED_TABLES} more" if len(tables) > LISTED_TABLES else ""
    return f"tables: {shown}{more}"


def _untouched_hint(path: Path) -> str:
    new = path.with_name(f"{path.stem}-undo.db")
    return (f"It was not changed. To create a store, give a path that does not exist yet, "
            f"e.g. `undo-tui --store {new} import ...`.")

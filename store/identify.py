"""What a file given as a store is, decided without changing it in any byte.

A path becomes a new store only when it does not exist or is empty (0 bytes). Anything else must
already be an undo-tui store (its `_sqlite_migrations` table holds this migration set): a SQLite
file of another application, or a file that is not a database at all, is refused before SQLite
writes to it (no WAL switch, no tables, no lock file beside it).

The first look uses SQLite's `immutable=1` mode, which takes no locks and creates no files. A store
whose newest commits still sit in its `-wal` file is looked at again through a read-only
connection, which sees them (that file exists, so nothing new is created).
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
    header = _header(path)
    if not header.startswith(SQLITE_MAGIC):
        raise NotAStore(f"{path} is not an undo-tui store: it is not a SQLite database "
                        f"({_size(path)}). {_untouched_hint(path)}")
    look = _look(path, immutable=True)
    if (look is None or not look.ours) and _has_wal(path, header):
        look = _look(path, immutable=False)  # the newest schema may still be in the -wal file
    if look is None:
        raise NotAStore(f"{path} is not an undo-tui store: SQLite cannot read it (damaged or "
                        f"not a database). {_untouched_hint(path)}")
    if not look.ours:
        raise NotAStore(f"{path} is not an undo-tui store: it is a SQLite database of another "
                        f"application ({_tables(look.tables)}). {_untouched_hint(path)}")


def _header(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(100)
    except OSError as exc:
        raise NotAStore(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def _has_wal(path: Path, header: bytes) -> bool:
    """WAL mode (file format versions 2 at offsets 18-19) with a non-empty -wal file beside it."""
    wal = path.with_name(path.name + "-wal")
    return len(header) >= 20 and header[18:20] == b"\x02\x02" and wal.is_file() \
        and wal.stat().st_size > 0


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


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size:,} bytes"


def _untouched_hint(path: Path) -> str:
    new = path.with_name(f"{path.stem}-undo.db")
    return (f"It was not changed. To create a store, give a path that does not exist yet, "
            f"e.g. `undo-tui --store {new} import ...`.")

"""Make a finished store fit to share: no absolute paths of the machine that recorded it.

A recorded run names files of its machine (checkpoint directories, log files, the config file, the
model file) in a few columns. Shipping it as sample_runs/demo.db must not publish those paths, so
each absolute path is rewritten to a placeholder that keeps the useful part: `<store-dir>/runs/...`
for files beside the store, `<repo>/...` for the source checkout, `<python-env>/...` for installed
packages, `~/...` for the home directory, and `<abs>/NAME` for anything else. Only columns that hold
paths or engine messages are touched: examples, rationales and predictions are data and stay as
they are. The file is then checkpointed and vacuumed into one file (no -wal beside it).
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

# table -> (primary key, columns that may hold a path)
PATH_COLUMNS = {
    "runs": ("id", ("config_json", "log_path", "error", "stop_reason", "stage")),
    "iterations": ("id", ("checkpoint_path", "metrics_json")),
    "events": ("id", ("message", "data_json")),
    "exports": ("id", ("path", "manifest_json")),
    "datasets": ("id", ("source",)),
}
# An absolute POSIX path: a "/" that starts a token (not inside a word, URL or fraction like 3/4),
# followed by characters that are not whitespace, quotes or closing brackets.
ABS_PATH = re.compile(r"(?<![\w.:/\\~<>-])/(?=[\w.~-])[^\s\"'`()\[\]{},;]*")


@dataclass(frozen=True)
class ScrubReport:
    cells: int  # cells rewritten
    paths: int  # paths replaced
    bytes_before: int
    bytes_after: int


def placeholder_roots(store_path: Path) -> list[tuple[str, str]]:
    """(prefix, placeholder) pairs, most specific first."""
    import engine

    roots = [(Path(store_path).resolve().parent, "<store-dir>"),
             (Path(engine.__file__).resolve().parents[1], "<repo>"),
             (Path(sys.prefix).resolve(), "<python-env>"),
             (Path(sys.base_prefix).resolve(), "<python>"),
             (Path.home().resolve(), "~")]
    pairs = []
    for path, name in roots:
        for variant in {str(path), str(path.absolute())}:
            if variant != "/":
                pairs.append((variant, name))
    return sorted(pairs, key=lambda pair: -len(pair[0]))


def replace_path(path: str, roots: list[tuple[str, str]]) -> str:
    """One absolute path as its placeholder form."""
    for prefix, name in roots:
        if path == prefix or path.startswith(prefix + "/"):
            return name + path[len(prefix):]
    trimmed = path.rstrip(".")  # a path at the end of a sentence
    tail = path[len(trimmed):]
    return f"<abs>/{Path(trimmed).name}{tail}"


def scrub_text(text: str, roots: list[tuple[str, str]]) -> tuple[str, int]:
    """`text` with every absolute path replaced; also the number replaced."""
    count = 0

    def swap(match: re.Match) -> str:
        nonlocal count
        count += 1
        return replace_path(match.group(0), roots)

    return ABS_PATH.sub(swap, text), count


def scrub_store(store_path: str | Path) -> ScrubReport:
    """Rewrite absolute paths in `store_path` in place and compact the file."""
    store_path = Path(store_path)
    roots = placeholder_roots(store_path)
    before = store_path.stat().st_size
    conn = sqlite3.connect(store_path)
    try:
        cells = paths = 0
        with conn:
            for table, (key, columns) in PATH_COLUMNS.items():
                present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                for column in (c for c in columns if c in present):
                    c, p = _scrub_column(conn, table, key, column, roots)
                    cells, paths = cells + c, paths + p
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("VACUUM")
        # Left in WAL mode, the mode every undo-tui connection sets: opening the shipped file then
        # writes nothing to it, so browsing a committed sample does not dirty the checkout.
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return ScrubReport(cells, paths, before, store_path.stat().st_size)


def _scrub_column(conn, table: str, key: str, column: str, roots) -> tuple[int, int]:
    cells = paths = 0
    rows = conn.execute(f"SELECT {key}, {column} FROM {table} WHERE {column} LIKE '%/%'").fetchall()
    for row_id, value in rows:
        if not isinstance(value, str):
            continue
        new, n = scrub_text(value, roots)
        if n and new != value:
            if column.endswith("_json"):
                json.loads(new)  # a placeholder never breaks the JSON it sits in
            conn.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", [new, row_id])
            cells, paths = cells + 1, paths + n
    return cells, paths


MACHINE_MARKERS = ("/work", "/root", "/home", "/tmp", "/Users")


def absolute_paths_left(store_path: str | Path,
                        markers: tuple[str, ...] = MACHINE_MARKERS) -> list[str]:
    """Every text cell of every table that still contains one of `markers` (table.column: text)."""
    found = []
    conn = sqlite3.connect(store_path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE '%VIRTUAL%'")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            for column in columns:
                where = " OR ".join(f"CAST({column} AS TEXT) LIKE ?" for _ in markers)
                for (value,) in conn.execute(f"SELECT {column} FROM {table} WHERE {where}",
                                             [f"%{m}%" for m in markers]):
                    found.append(f"{table}.{column}: {str(value)[:120]}")
    finally:
        conn.close()
    return found

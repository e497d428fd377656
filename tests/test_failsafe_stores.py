"""Files that are not undo-tui stores are refused by every command and the TUI, unchanged in any
byte, with no file created beside them; expected errors print one message without a traceback."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

import store
from store.schema import migrations
from undo_tui.cli import main

COMMANDS = [
    ["status"],
    ["status", "1"],
    ["import", "{data}", "--dataset", "d"],
    ["run", "{config}"],
    ["run", "{config}", "--create-only", "--no-preflight"],
    ["resume", "1"],
    ["stop", "1"],
    ["export", "1", "--format", "trl-messages", "--out", "{out}"],
    ["tui"],
]


def foreign_sqlite(path: Path, wal: bool = False) -> Path:
    """Another application's database, made by sqlite3."""
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO notes (body) VALUES (?)", [("milk",), ("eggs",)])
    conn.commit()
    conn.close()
    return path


def random_bytes(path: Path) -> Path:
    path.write_bytes(os.urandom(8192))
    return path


def argv_for(command: list[str], tmp_path: Path) -> list[str]:
    data = tmp_path / "data.jsonl"
    data.write_text('{"question": "1 + 1?", "answer": "2"}\n')
    config = tmp_path / "run.toml"
    config.write_text('[dataset]\nname = "d"\n')
    values = {"data": str(data), "config": str(config), "out": str(tmp_path / "out.jsonl")}
    return [part.format(**values) for part in command]


def listing(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.mark.parametrize("kind", ["sqlite", "sqlite-wal", "random"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: "-".join(c[:2]))
def test_every_command_refuses_a_file_that_is_not_a_store(tmp_path, capsys, kind, command):
    home = tmp_path / "home"
    home.mkdir()
    path = home / "other.db"
    if kind == "random":
        random_bytes(path)
    else:
        foreign_sqlite(path, wal=kind == "sqlite-wal")
    before = listing(home)

    code = main(["--store", str(path), *argv_for(command, tmp_path)])

    err = capsys.readouterr().err
    assert code == 2
    assert "is not an undo-tui store" in err and "It was not changed" in err
    what = "it is not a database (no SQLite header" if kind == "random" else \
        "SQLite database of another application"
    assert what in err
    if kind != "random":
        assert "tables: notes" in err
    assert "Traceback" not in err and err.count("\n") == 1  # one message
    assert listing(home) == before  # not a byte changed, no -wal, -shm or lock file beside it


def test_debug_shows_the_traceback_of_an_expected_error(tmp_path, capsys):
    path = random_bytes(tmp_path / "noise.bin")
    assert main(["--debug", "--store", str(path), "status"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "NotAStore" in err
    assert err.rstrip().endswith("e.g. `undo-tui --store " f"{tmp_path / 'noise-undo.db'} import ...`.")


@pytest.mark.parametrize("existing", ["missing", "empty"])
def test_a_missing_or_empty_path_becomes_a_store(tmp_path, capsys, existing):
    path = tmp_path / "new.db"
    if existing == "empty":
        path.write_bytes(b"")
    assert main(["--store", str(path), "status"]) == 0
    assert "no runs in this store" in capsys.readouterr().out
    db = store.open_store(path)
    assert [m.name for m in migrations.applied(db)] == store.schema.known_migrations()
    db.close()
    assert not [p for p in tmp_path.iterdir() if ".creating-" in p.name]


def test_a_store_whose_schema_is_still_in_its_wal_file_is_recognised(tmp_path):
    """A store created by another process that has not checkpointed yet (its tables live only in
    the -wal file) is ours, not a foreign file."""
    path = tmp_path / "fresh.db"
    writer = store.connect(path)  # held open: nothing is checkpointed into the main file
    migrations.apply(writer)
    assert path.with_name("fresh.db-wal").stat().st_size > 0
    db = store.open_store(path)
    assert store.list_runs(db) == []
    db.close()
    writer.close()


def test_the_tui_refuses_a_foreign_database_unchanged(tmp_path):
    from undo_tui.app import UndoApp

    path = foreign_sqlite(tmp_path / "other.db")
    before = listing(tmp_path)
    import asyncio

    async def scenario():
        app = UndoApp(path)
        async with app.run_test(size=(100, 30)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            return app.open_error, app.opened

    error, opened = asyncio.run(scenario())
    assert not opened and "SQLite database of another application" in error
    assert listing(tmp_path) == before


def test_opening_a_store_again_keeps_the_locks_of_this_process(tmp_path):
    """Checking the file must not close a descriptor of it while this process holds a connection
    (POSIX drops all of a process's locks on that close): another process closing its connection
    would then find itself the last user, checkpoint and delete the WAL under our feet."""
    import subprocess
    import sys

    path = tmp_path / "store.db"
    held = store.open_store(path)
    store.create_run(held, "first", {})
    store.open_store(path).close()  # the check runs while `held` is open
    script = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
              "c.execute('SELECT count(*) FROM runs').fetchone(); c.close()")
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)
    assert path.with_name("store.db-wal").exists()  # the other process knew it was not the last
    store.create_run(held, "second", {})
    assert [s.run.name for s in store.list_runs(held)] == ["second", "first"]
    assert held.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    held.close()

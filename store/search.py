"""Full-text search for the errors browser: what a user typed, matched inside SQLite.

A search's matches never become Python objects. `search_hits` copies the FTS5 matches (question
rowids, rationale rowids) into TEMP tables of the calling connection, once per search text;
store.browse then joins them into its keyset page and count queries, so a page is one SQL
statement that stops at its LIMIT. Building Python sets of ~50k ids in a worker thread, beside
the UI thread, used to cost more than the query itself (each id parsed while holding the GIL).

TEMP tables belong to one connection: every connection (the TUI has one per worker thread)
builds its own copy on first use, and rebuilds it when the search text, the run or the store's
newest example/rationale changes.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from sqlite_utils import Database

SMALL_SEARCH = 5000  # up to this many matches, a search's example ids are listed up front
QUESTIONS = "temp.undo_search_questions"
RATIONALES = "temp.undo_search_rationales"
EXAMPLES = "temp.undo_search_examples"
STATE = "temp.undo_search_state"

SEARCH_SQL = {
    "questions": "SELECT rowid FROM examples_fts WHERE examples_fts MATCH ?",
    "rationales": "SELECT rowid FROM rationales_fts WHERE rationales_fts MATCH ?",
}

_CREATE = [
    f"CREATE TEMP TABLE IF NOT EXISTS {STATE.split('.')[1]} (query TEXT, run_id INTEGER, "
    "newest_example INTEGER, newest_rationale INTEGER, questions INTEGER, rationales INTEGER, "
    "few INTEGER)",
    f"CREATE TEMP TABLE IF NOT EXISTS {QUESTIONS.split('.')[1]} (id INTEGER PRIMARY KEY)",
    f"CREATE TEMP TABLE IF NOT EXISTS {RATIONALES.split('.')[1]} (id INTEGER PRIMARY KEY)",
    f"CREATE TEMP TABLE IF NOT EXISTS {EXAMPLES.split('.')[1]} (example_id INTEGER PRIMARY KEY)",
]
# One statement: the cached search (if any) and what the store looks like now.
_STATE_NOW = (f"SELECT (SELECT max(id) FROM examples), (SELECT max(id) FROM rationales), "
              f"s.query, s.run_id, s.newest_example, s.newest_rationale, s.questions, "
              f"s.rationales, s.few FROM (SELECT 1) LEFT JOIN {STATE} s")
# The examples of this run that a few matches belong to (a rowid lookup per rationale).
_RESOLVE = (f"INSERT OR IGNORE INTO {EXAMPLES} SELECT id FROM {QUESTIONS} "
            f"UNION SELECT r.example_id FROM {RATIONALES} h CROSS JOIN rationales r "
            "ON r.id = h.id WHERE r.run_id = ? OR r.run_id IS NULL")


def fts_query(text: str | None) -> str | None:
    """A safe FTS5 query from what a user typed: every word must match, the last as a prefix.

    Quoting each word means FTS5 operators and punctuation in the input cannot cause a syntax
    error; an input with no words gives None (no search).
    """
    if not text:
        return None
    words = re.findall(r"\w+", text)
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def search_terms(text: str | None) -> list[str]:
    """The words of a search, for highlighting matches on screen."""
    return re.findall(r"\w+", text or "")


def matches(example_id: str = "p.example_id") -> str:
    """SQL: whether the example in column `example_id` matched the search (one ? = the run).

    By its question, or by one of its rationales of this run: a covering seek on
    rationales_by_example, then a TEMP table probe per rationale. Name the column of the
    innermost joined table, so SQLite checks the cheaper join conditions first.
    """
    return (f"({example_id} IN {QUESTIONS} OR EXISTS (SELECT 1 FROM rationales r INDEXED BY "
            f"rationales_by_example WHERE r.example_id = {example_id} "
            f"AND (r.run_id = ? OR r.run_id IS NULL) AND r.id IN {RATIONALES}))")


@dataclass(frozen=True)
class SearchHits:
    """A search made ready on one connection: how many rows matched, and how to join them.

    few: the matching example ids of the run are listed in EXAMPLES (pages are read from that
    short list); otherwise pages walk the status filter and probe QUESTIONS/RATIONALES per row.
    """

    query: str
    run_id: int
    questions: int
    rationales: int
    few: bool

    def __bool__(self) -> bool:
        return bool(self.questions or self.rationales)


def search_hits(db: Database, text: str | None, run_id: int) -> SearchHits | None:
    """Make a search ready on this connection (None when there is nothing to search for).

    Cheap when this connection already holds the same search of the same run and the store has
    no newer example or rationale since: one statement of index seeks.
    """
    query = fts_query(text)
    if query is None:
        return None
    state = _state(db)
    newest, cached = state[:2], state[2:]
    if cached[:4] == (query, run_id, *newest):
        return SearchHits(query, run_id, cached[4], cached[5], bool(cached[6]))
    return _build(db, query, run_id, newest)


def _state(db: Database) -> tuple:
    try:
        return db.execute(_STATE_NOW).fetchone()
    except sqlite3.OperationalError:  # this connection's first search: make its TEMP tables
        _create(db)
        return db.execute(_STATE_NOW).fetchone()


def _create(db: Database) -> None:
    """The TEMP tables, in memory when this connection has none yet.

    (Changing temp_store drops a connection's TEMP tables, so it is only set before any exist.)
    """
    if db.execute("SELECT count(*) FROM sqlite_temp_master").fetchone()[0] == 0:
        db.execute("PRAGMA temp_store = MEMORY")
    for sql in _CREATE:
        db.execute(sql)


def _build(db: Database, query: str, run_id: int, newest: tuple) -> SearchHits:
    """Copy the FTS5 matches into the TEMP tables, in one snapshot of the store."""
    db.execute("SAVEPOINT undo_search")
    try:
        for table in (STATE, QUESTIONS, RATIONALES, EXAMPLES):
            db.execute(f"DELETE FROM {table}")
        questions = db.execute(f"INSERT INTO {QUESTIONS} {SEARCH_SQL['questions']}",
                               [query]).rowcount
        rationales = db.execute(f"INSERT INTO {RATIONALES} {SEARCH_SQL['rationales']}",
                                [query]).rowcount
        few = questions + rationales <= SMALL_SEARCH
        if few:
            db.execute(_RESOLVE, [run_id])
        db.execute(f"INSERT INTO {STATE} VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [query, run_id, *newest, questions, rationales, int(few)])
    except BaseException:
        db.execute("ROLLBACK TO undo_search")
        db.execute("RELEASE undo_search")
        raise
    db.execute("RELEASE undo_search")
    return SearchHits(query, run_id, questions, rationales, few)

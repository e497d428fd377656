"""Full-text search for the errors browser: what a user typed, matched inside SQLite.

A search's matches never become Python objects. `search_hits` copies the FTS5 matches (question
rowids, rationale rowids) into TEMP tables of the calling connection, once per search text;
store.browse then joins them into its keyset page and count queries, so a page is one SQL
statement that stops at its LIMIT. Building Python sets of ~50k ids in a worker thread, beside
the UI thread, used to cost more than the query itself (each id parsed while holding the GIL).

TEMP tables belong to one connection: every connection builds its own copy on first use, and
rebuilds it when the search text, the run or the store's newest example/rationale changes.

A search that matches nearly everything is not listed at all: its rows are probed one by one
(store.search_probe), which finds a first page in a fraction of the time listing would take.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from sqlite_utils import Database

from store.search_probe import HUGE_SEARCH, probe_plan

SMALL_SEARCH = 5000  # up to this many matches, a search's example ids are listed up front
QUESTIONS = "temp.undo_search_questions"  # example ids whose question matched
RATIONALES = "temp.undo_search_rationales"  # rationale ids (any run) whose text matched
EXAMPLES = "temp.undo_search_examples"  # few matches: the example ids of the run they make
STATE = "temp.undo_search_state"  # the one search these tables hold

SEARCH_SQL = {
    "questions": "SELECT rowid FROM examples_fts WHERE examples_fts MATCH ?",
    "rationales": "SELECT rowid FROM rationales_fts WHERE rationales_fts MATCH ?",
}


def _name(table: str) -> str:
    return table.split(".")[1]


# Writing the state row fills the tables (a TEMP trigger): a new search is one statement, in
# one snapshot of the store, and a failure leaves the previous search whole.
_CREATE = [
    f"CREATE TEMP TABLE IF NOT EXISTS {_name(STATE)} (slot INTEGER PRIMARY KEY CHECK (slot = 1), "
    "query TEXT, run_id INTEGER, newest_example INTEGER, newest_rationale INTEGER, "
    "small INTEGER, matches INTEGER, few INTEGER, probe TEXT)",
    f"CREATE TEMP TABLE IF NOT EXISTS {_name(QUESTIONS)} (id INTEGER PRIMARY KEY)",
    f"CREATE TEMP TABLE IF NOT EXISTS {_name(RATIONALES)} (id INTEGER PRIMARY KEY)",
    f"CREATE TEMP TABLE IF NOT EXISTS {_name(EXAMPLES)} (example_id INTEGER PRIMARY KEY)",
    # (a probed search lists nothing: the tables keep what they held, unread)
    f"""CREATE TEMP TRIGGER IF NOT EXISTS undo_search_fill AFTER INSERT ON {_name(STATE)}
    WHEN NEW.probe IS NULL BEGIN
    DELETE FROM {_name(QUESTIONS)};
    DELETE FROM {_name(RATIONALES)};
    DELETE FROM {_name(EXAMPLES)};
    INSERT INTO {_name(QUESTIONS)} SELECT rowid FROM examples_fts WHERE examples_fts MATCH NEW.query;
    INSERT INTO {_name(RATIONALES)}
        SELECT rowid FROM rationales_fts WHERE rationales_fts MATCH NEW.query;
    UPDATE {_name(STATE)} SET matches = (SELECT count(*) FROM {_name(QUESTIONS)})
        + (SELECT count(*) FROM {_name(RATIONALES)}) WHERE slot = 1;
    UPDATE {_name(STATE)} SET few = matches <= small WHERE slot = 1;
    INSERT OR IGNORE INTO {_name(EXAMPLES)}
        SELECT id FROM {_name(QUESTIONS)} WHERE (SELECT few FROM {_name(STATE)})
        UNION SELECT r.example_id FROM {_name(RATIONALES)} h CROSS JOIN rationales r
        ON r.id = h.id WHERE (SELECT few FROM {_name(STATE)})
        AND (r.run_id = NEW.run_id OR r.run_id IS NULL);
END""",
]
# One statement: the search these tables hold (if any) and what the store looks like now.
_STATE_NOW = ("SELECT (SELECT max(id) FROM examples), (SELECT max(id) FROM rationales), "
              "s.query, s.run_id, s.newest_example, s.newest_rationale, s.matches, s.few, s.probe "
              f"FROM (SELECT 1) LEFT JOIN {STATE} s")


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

    few: the matching example ids of the run are listed in EXAMPLES and pages are read from
    that short list; otherwise pages walk the status filter and check each row against the
    listed matches, or, with `probe` (a search matching nearly everything), ask FTS5 directly.
    """

    query: str
    run_id: int
    matches: int  # matching questions + matching rationales (any run); an estimate if probed
    few: bool
    probe: str | None = None  # exact-term FTS5 query for row-by-row probes (store.search_probe)

    def __bool__(self) -> bool:
        return self.matches > 0


def search_hits(db: Database, text: str | None, run_id: int, *,
                probe: bool = True) -> SearchHits | None:
    """Make a search ready on this connection (None when there is nothing to search for).

    Cheap when this connection already holds the same search of the same run and the store has
    no newer example or rationale since: one statement of index seeks.
    probe=False: always list the matches (a count reads every row of the filter anyway).
    """
    query = fts_query(text)
    if query is None:
        return None
    state = _state(db)
    newest, cached = state[:2], state[2:]
    if cached[:4] == (query, run_id, *newest) and (probe or cached[6] is None):
        return SearchHits(query, run_id, cached[4], bool(cached[5]), cached[6])
    plan = probe_plan(db, text) if probe else None
    if plan is not None and plan.estimate >= HUGE_SEARCH:
        db.execute(f"INSERT OR REPLACE INTO {STATE} (slot, query, run_id, newest_example, "
                   "newest_rationale, small, matches, few, probe) VALUES (1, ?, ?, ?, ?, ?, ?, 0, ?)",
                   [query, run_id, *newest, SMALL_SEARCH, plan.estimate, plan.query])
        return SearchHits(query, run_id, plan.estimate, False, plan.query)
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
    """Fill the TEMP tables for a new search: one statement (the trigger does the work).

    Few statements matter here: a worker thread beside the busy UI thread waits for the GIL
    again after every one.
    """
    db.execute(f"INSERT OR REPLACE INTO {STATE} (slot, query, run_id, newest_example, "
               "newest_rationale, small) VALUES (1, ?, ?, ?, ?, ?)",
               [query, run_id, *newest, SMALL_SEARCH])
    matches, few = db.execute(f"SELECT matches, few FROM {STATE}").fetchone()
    return SearchHits(query, run_id, matches, bool(few))

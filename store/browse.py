"""Paged, filtered queries for the TUI's errors browser.

Every query here is built to stay fast on a store with ~100k examples and ~1M rationales and
predictions: pages are fetched by keyset (`example_id > last`, LIMIT n) on the
`predictions_by_status` index, per-row details (question, tags, history) are looked up only for
the rows of one page, and full-text search goes through the FTS5 tables (store/search.py),
whose matches are joined into the same keyset query from TEMP tables, so a searched page is
one statement too. The keyset walk reads only indexed columns, so it never touches a table row.
Row counts are a separate query so a screen can paint the first page before the count is
known; a search's count over a very big filter is capped (browse_count_bounded).

The status filters compare iteration k with an earlier iteration `previous` of the same run and
split (normally k-1; the caller decides, see `previous_iteration`):

- wrong:        wrong at k
- fixed:        wrong at previous, right at k
- regressed:    right at previous, wrong at k
- still_wrong:  wrong at previous and at k
- always_right: right at k and at every earlier evaluated iteration
- all:          every prediction at k
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from sqlite_utils import Database

# The search names are part of this module's API too (the TUI imports them from here).
from store.search import (EXAMPLES, SEARCH_SQL, SMALL_SEARCH, SearchHits,  # noqa: F401
                          fts_query, matches, search_hits, search_terms)
from store.search_probe import probe_matches

STATUSES: dict[str, str] = {
    "wrong": "wrong at k",
    "fixed": "fixed: wrong before, right at k",
    "regressed": "regressed: right before, wrong at k",
    "still_wrong": "still wrong: wrong before and at k",
    "always_right": "always right up to k",
    "all": "every prediction at k",
}
NEEDS_PREVIOUS = ("fixed", "regressed", "still_wrong")
PAGE_SIZE = 200
QUESTION_CHARS = 300
COUNT_READ_CAP = 200_000  # a search's count checks at most this many rows, then says "N+"


@dataclass(frozen=True)
class BrowseFilter:
    """What the errors browser shows: one run, split and iteration, narrowed by status/tag/search."""

    run_id: int
    split: str
    iteration: int
    status: str = "wrong"
    previous: int | None = None
    tag: str | None = None
    search: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status filter {self.status!r}; one of {', '.join(STATUSES)}")

    def with_(self, **changes: Any) -> BrowseFilter:
        return replace(self, **changes)

    @property
    def comparable(self) -> bool:
        """False when the status needs an earlier iteration and there is none."""
        return self.status not in NEEDS_PREVIOUS or self.previous is not None


@dataclass(frozen=True)
class BrowseRow:
    """One example as the errors browser lists it."""

    example_id: int
    ext_id: str
    question: str
    gold: str
    answer: str | None
    correct: bool
    history: tuple[tuple[int, bool], ...]
    excluded: bool
    tags: tuple[str, ...]


def _filtered(db: Database, flt: BrowseFilter, hits: SearchHits | None = None, *,
              match: bool = True) -> tuple[str, list[Any]]:
    """`FROM ... WHERE ...` for the rows of a filter, and its parameters (p = prediction at k).

    hits: the filter's search, made ready on this connection (store.search). Few matches are
    read from their list of example ids (s, joined to p); many are probed row by row,
    unless match=False (the caller applies store.search.matches itself).
    """
    joins: list[str] = []
    join_params: list[Any] = []
    where = ["p.run_id = ?", "p.split = ?", "p.iteration = ?"]
    params: list[Any] = [flt.run_id, flt.split, flt.iteration]
    status = flt.status
    if status == "wrong":
        where.append("p.correct = 0")
    elif status in NEEDS_PREVIOUS:
        now, before = {"fixed": (1, 0), "regressed": (0, 1), "still_wrong": (0, 0)}[status]
        where.append(f"p.correct = {now}")
        # INDEXED BY: the unique index SQLite prefers lacks `correct`, so every probe would
        # read a table row; predictions_by_status answers it from the index alone.
        joins.append("JOIN predictions q INDEXED BY predictions_by_status "
                     "ON q.run_id = p.run_id AND q.iteration = ? "
                     "AND q.split = p.split AND q.example_id = +p.example_id "
                     f"AND q.correct = {before}")
        join_params.append(flt.previous)
    elif status == "always_right":
        where.append("p.correct = 1")
        # Equality on each earlier iteration keeps every probe a covering seek on
        # predictions_by_status; a range on iteration would make SQLite scan it per row.
        earlier = [i for i in browse_iterations(db, flt.run_id, flt.split) if i < flt.iteration]
        if earlier:
            where.append("NOT EXISTS (SELECT 1 FROM predictions h WHERE h.run_id = p.run_id "
                         f"AND h.split = p.split AND h.iteration IN ({', '.join('?' * len(earlier))}) "
                         "AND h.correct = 0 AND h.example_id = p.example_id)")
            params.extend(earlier)
    if flt.tag:
        where.append("p.example_id IN (SELECT example_id FROM example_tags WHERE tag = ?)")
        params.append(flt.tag)
    source = "FROM predictions p "
    if hits is not None and hits.few:
        # CROSS JOIN: walk the short list in id order, one seek into predictions per id
        source = f"FROM {EXAMPLES} s CROSS JOIN predictions p ON p.example_id = s.example_id "
    elif hits is not None and hits.probe is not None:
        where.append(probe_matches(_innermost(flt)))
        params.extend([hits.probe, flt.run_id, hits.probe])
    elif hits is not None and match:
        where.append(matches(_innermost(flt)))
        params.append(flt.run_id)
    sql = source + " ".join(joins) + " WHERE " + " AND ".join(where)
    return sql, join_params + params


def _innermost(flt: BrowseFilter) -> str:
    """The example id column of the filter's last joined table (see store.search.matches)."""
    return "q.example_id" if flt.status in NEEDS_PREVIOUS else "p.example_id"


def _key(hits: SearchHits | None) -> str:
    """The column pages are ordered by: the short list's ids for a search with few matches."""
    return "s.example_id" if hits is not None and hits.few else "p.example_id"


def _page_sql(db: Database, flt: BrowseFilter, *, after: int | None, before: int | None,
              limit: int, hits: SearchHits | None = None) -> tuple[str, list[Any]]:
    body, params = _filtered(db, flt, hits)
    key = _key(hits)
    # (+: the bound must not become a range probe on p, which the list's ids drive)
    bound = f"+{key}" if key.startswith("s.") else key
    if after is not None:
        body += f" AND {bound} > ?"
        params.append(after)
    if before is not None:
        body += f" AND {bound} < ?"
        params.append(before)
    # Reading backwards (the last page, or the page before a window) walks the index in reverse.
    # Only indexed columns: the walk never reads a table row (answers come per page, in _rows).
    order = "DESC" if before is not None else "ASC"
    return (f"SELECT p.example_id, p.correct {body} "
            f"ORDER BY {key} {order} LIMIT ?", params + [limit])


def _ready(db: Database, flt: BrowseFilter, *, probe: bool = True) -> SearchHits | None:
    """The filter's search made ready on this connection (None without a search)."""
    return search_hits(db, flt.search, flt.run_id, probe=probe) if flt.search else None


def browse_page(db: Database, flt: BrowseFilter, *, after: int | None = None,
                before: int | None = None, last: bool = False,
                limit: int = PAGE_SIZE) -> list[BrowseRow]:
    """One page of rows in example-id order, with each row's details, in one SQL statement.

    after:  rows with example_id > after (the next page); None = from the start.
    before: rows with example_id < before (the previous page).
    last:   the last page of the filter.

    One statement (plus one to check a search is ready): a worker thread beside the busy UI
    thread waits for the GIL after every statement, so their number is what a page costs there.
    """
    if not flt.comparable:
        return []
    if last and before is None:
        before = 1 << 62
    hits = _ready(db, flt)
    if hits is not None and not hits:
        return []
    sql, params = _page_sql(db, flt, after=after, before=before, limit=limit, hits=hits)
    found = json.loads(db.execute(_ROWS_SQL.format(page=sql), [
        *params, flt.run_id, flt.iteration, flt.split, flt.run_id, flt.split]).fetchone()[0])
    found.sort(key=lambda row: row[0])  # an aggregate does not promise to keep the order
    return [BrowseRow(example_id, ext_id, question, gold, answer, bool(correct),
                      tuple((k, bool(c)) for k, c in history), bool(excluded), tuple(tags))
            for example_id, correct, ext_id, question, gold, excluded, tags, answer, history
            in found]


# A page's rows (the keyset walk, indexed columns only) and then, per row, its example, tags,
# answer at k and verdicts at every iteration: one aggregate row of JSON.
_ROWS_SQL = (
    "WITH page(example_id, correct) AS ({page}) "
    "SELECT json_group_array(json_array(pg.example_id, pg.correct, coalesce(e.ext_id, '?'), "
    f"coalesce(substr(e.question, 1, {QUESTION_CHARS}), ''), coalesce(e.answer, ''), "
    "coalesce(a.excluded, 0), "
    "json((SELECT json_group_array(tag) FROM (SELECT tag FROM example_tags t "
    "WHERE t.example_id = pg.example_id ORDER BY tag))), "
    "(SELECT x.answer FROM predictions x WHERE x.run_id = ? AND x.iteration = ? "
    "AND x.split = ? AND x.example_id = pg.example_id), "
    # INDEXED BY: left to itself SQLite scans the run's whole split on predictions_by_status
    "json((SELECT json_group_array(json_array(h.iteration, h.correct)) FROM (SELECT iteration, "
    "correct FROM predictions INDEXED BY predictions_by_example WHERE example_id = pg.example_id "
    "AND run_id = ? AND split = ? ORDER BY iteration) h)))) "
    "FROM page pg LEFT JOIN examples e ON e.id = pg.example_id "
    "LEFT JOIN annotations a ON a.example_id = pg.example_id")


def browse_count(db: Database, flt: BrowseFilter) -> int:
    """How many rows the filter matches (a separate query: the first page does not wait for it)."""
    return browse_count_bounded(db, flt, max_read=None)[0]


def browse_count_bounded(db: Database, flt: BrowseFilter, *,
                         max_read: int | None = COUNT_READ_CAP) -> tuple[int, bool]:
    """(count, exact): a search over many rows stops after checking `max_read` of them.

    Without a search, or for a search with few matches, the count is one exact SQL count.
    A search with many matches probes each row of the status filter; past `max_read` rows the
    matches so far are a lower bound (exact=False), shown as "N+".
    """
    if not flt.comparable:
        return 0, True
    hits = _ready(db, flt, probe=False)  # listed: probing every row of a filter is slower
    if hits is not None and not hits:
        return 0, True
    if hits is None or hits.few or max_read is None:
        body, params = _filtered(db, flt, hits)
        return db.execute(f"SELECT count(*) {body}", params).fetchone()[0], True
    body, params = _filtered(db, flt, hits, match=False)
    read, matched, last = db.execute(
        f"SELECT count(*), coalesce(sum(m), 0), max(e) FROM (SELECT p.example_id AS e, "
        f"{matches(_innermost(flt))} AS m {body} ORDER BY p.example_id LIMIT ?)",
        [flt.run_id, *params, max_read]).fetchone()
    if read < max_read:
        return matched, True
    more = db.execute(f"SELECT EXISTS (SELECT 1 {body} AND p.example_id > ?)",
                      [*params, last]).fetchone()[0]
    return matched, not more


def browse_excluded_count(db: Database, flt: BrowseFilter) -> int | None:
    """How many of the filter's rows are excluded examples (listed, marked, and left out of
    every score); None for a search with many matches, which is not worth a second probe.

    One seek per excluded example (the IN list drives the unique predictions index)."""
    if not flt.comparable:
        return 0
    hits = _ready(db, flt, probe=False)
    if hits is not None and not hits:
        return 0
    if hits is not None and not hits.few:
        return None
    body, params = _filtered(db, flt, hits)
    return db.execute(f"SELECT count(*) {body} AND p.example_id IN "
                      "(SELECT example_id FROM annotations WHERE excluded = 1)",
                      params).fetchone()[0]


def browse_splits(db: Database, run_id: int) -> list[str]:
    """The splits a run has predictions for (a loose index scan: one seek per split)."""
    rows = db.execute(
        "WITH RECURSIVE s(split) AS ("
        " SELECT (SELECT min(split) FROM predictions WHERE run_id = ?1)"
        " UNION ALL SELECT (SELECT min(split) FROM predictions WHERE run_id = ?1 AND split > s.split)"
        " FROM s WHERE s.split IS NOT NULL)"
        " SELECT split FROM s WHERE split IS NOT NULL", [run_id]).fetchall()
    return [r[0] for r in rows]


def browse_iterations(db: Database, run_id: int, split: str) -> list[int]:
    """The iterations with predictions on a split, ascending (one index seek per iteration)."""
    rows = db.execute(
        "WITH RECURSIVE i(k) AS ("
        " SELECT (SELECT min(iteration) FROM predictions WHERE run_id = ?1 AND split = ?2)"
        " UNION ALL SELECT (SELECT min(iteration) FROM predictions WHERE run_id = ?1 "
        "  AND split = ?2 AND iteration > i.k) FROM i WHERE i.k IS NOT NULL)"
        " SELECT k FROM i WHERE k IS NOT NULL", [run_id, split]).fetchall()
    return [r[0] for r in rows]


def browse_marker(db: Database, run_id: int, split: str | None,
                  iteration: int | None) -> tuple:
    """Something that changes when the run writes what the errors browser shows (cheap: seeks).

    The run's newest event (progress is written as predictions are), the iterations of every
    split, the row counts at the viewed iteration and at the split's newest one (covering index
    counts), and the newest rationale id (search results include rationale text).
    """
    splits = browse_splits(db, run_id)
    iterations = tuple((s, tuple(browse_iterations(db, run_id, s))) for s in splits)
    newest = dict(iterations).get(split, ())
    counts = tuple(db.execute(
        "SELECT count(*) FROM predictions WHERE run_id = ? AND split = ? AND iteration = ?",
        [run_id, split, k]).fetchone()[0] for k in {iteration, newest[-1] if newest else None}
        if k is not None and split is not None)
    event, rationale = db.execute(
        "SELECT (SELECT max(id) FROM events WHERE run_id = ?), (SELECT max(id) FROM rationales)",
        [run_id]).fetchone()
    return iterations, counts, event, rationale


def previous_iteration(iterations: list[int], k: int) -> int | None:
    """The newest iteration before k in a list from `browse_iterations`."""
    earlier = [i for i in iterations if i < k]
    return max(earlier) if earlier else None


def explain(db: Database, flt: BrowseFilter, *, what: str = "page") -> list[str]:
    """EXPLAIN QUERY PLAN of the page or count query of a filter (for tests and benchmarks).

    With a search, the plans of both ways of reading it follow ("search many:", "search few:").
    """
    hits = _ready(db, flt)
    if what in ("page", "page_before", "count"):
        sql, params = _plan_sql(db, flt, what, hits)
    elif what == "history":  # a page's details (tags, answer, verdicts per iteration)
        sql, params = _page_sql(db, flt, after=0, before=None, limit=PAGE_SIZE)
        sql = _ROWS_SQL.format(page=sql)
        params += [flt.run_id, flt.iteration, flt.split, flt.run_id, flt.split]
    else:
        raise ValueError(f"unknown query {what!r}")
    plan = _plan(db, sql, params)
    if hits is not None and what != "history":
        for name, search_sql in SEARCH_SQL.items():
            plan += [f"search {name}: {line}" for line in _plan(db, search_sql, [hits.query])]
        for label, few in (("many", False), ("few", True)):
            sql, params = _plan_sql(db, flt, what, replace(hits, few=few))
            plan += [f"search {label}: {line}" for line in _plan(db, sql, params)]
    return plan


def _plan_sql(db: Database, flt: BrowseFilter, what: str,
              hits: SearchHits | None) -> tuple[str, list[Any]]:
    if what == "page":
        return _page_sql(db, flt, after=0, before=None, limit=PAGE_SIZE, hits=hits)
    if what == "page_before":
        return _page_sql(db, flt, after=None, before=1 << 62, limit=PAGE_SIZE, hits=hits)
    body, params = _filtered(db, flt, hits)
    return f"SELECT count(*) {body}", params


def _plan(db: Database, sql: str, params: list[Any]) -> list[str]:
    return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()]

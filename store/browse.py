"""Paged, filtered queries for the TUI's errors browser.

Every query here is built to stay fast on a store with ~100k examples and ~1M rationales and
predictions: pages are fetched by keyset (`example_id > last`, LIMIT n) on the
`predictions_by_status` index, per-row details (question, tags, history) are looked up only for
the rows of one page, and full-text search goes through the FTS5 tables (store/search.py).
The keyset walk reads only indexed columns, so it never touches a table row. Row counts are a
separate query so a screen can paint the first page before the count is known; a search's
count over a big filter is capped (browse_count_bounded).

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

from store.fetch import all_rows, id_set
# The search names are part of this module's API too (the TUI imports them from here).
from store.search import (RATIONALES_OF, SEARCH_SQL, SMALL_SEARCH, SearchHits,  # noqa: F401
                          fts_query, matching, search_hits, search_terms)

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
SEARCH_CHUNK = 2000  # at most this many status-filter rows read per step of a search
COUNT_READ_CAP = 10_000  # a search's count checks at most this many rows, then says "N+"


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


def _filtered(db: Database, flt: BrowseFilter,
              only: list[int] | None = None) -> tuple[str, list[Any]]:
    """`FROM ... WHERE ...` for the rows of a filter, and its parameters (p = prediction at k).

    only: restrict to these example ids (a small search result), read as a JSON array.
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
    if only is not None:
        where.append("p.example_id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(only))
    sql = "FROM predictions p " + " ".join(joins) + " WHERE " + " AND ".join(where)
    return sql, join_params + params


def _page_sql(db: Database, flt: BrowseFilter, *, after: int | None, before: int | None,
              limit: int, only: list[int] | None = None) -> tuple[str, list[Any]]:
    body, params = _filtered(db, flt, only)
    if after is not None:
        body += " AND p.example_id > ?"
        params.append(after)
    if before is not None:
        body += " AND p.example_id < ?"
        params.append(before)
    # Reading backwards (the last page, or the page before a window) walks the index in reverse.
    # Only indexed columns: the walk never reads a table row (answers come per page, in _rows).
    order = "DESC" if before is not None else "ASC"
    return (f"SELECT p.example_id, p.correct {body} "
            f"ORDER BY p.example_id {order} LIMIT ?", params + [limit])


def browse_page(db: Database, flt: BrowseFilter, *, after: int | None = None,
                before: int | None = None, last: bool = False, limit: int = PAGE_SIZE,
                hits: SearchHits | None = None) -> list[BrowseRow]:
    """One page of rows in example-id order.

    after:  rows with example_id > after (the next page); None = from the start.
    before: rows with example_id < before (the previous page).
    last:   the last page of the filter.
    hits:   `search_hits(db, flt.search)`, if the caller has it already.
    """
    if not flt.comparable:
        return []
    if last and before is None:
        before = 1 << 62
    if flt.search and hits is None:
        hits = search_hits(db, flt.search)
    only = hits.examples_for(flt.run_id) if flt.search and hits is not None else None
    if not flt.search or hits is None or only is not None:
        sql, params = _page_sql(db, flt, after=after, before=before, limit=limit, only=only)
        found = _ordered(all_rows(db, sql, params, 2), descending=before is not None)
    else:
        found = _searched_page(db, flt, hits, after=after, before=before, limit=limit)
    if before is not None:
        found.reverse()
    return _rows(db, flt, found)


def _ordered(rows: list[tuple], descending: bool) -> list[tuple]:
    """Rows in keyset order again (an aggregate does not promise to keep it)."""
    return sorted(rows, key=lambda row: row[0], reverse=descending)


def _searched_page(db: Database, flt: BrowseFilter, hits: SearchHits, *, after: int | None,
                   before: int | None, limit: int) -> list[tuple]:
    """Walk the status filter's rows in keyset order, in chunks, keeping the search's matches."""
    found: list[tuple] = []
    if not hits:
        return found
    chunk, read = max(limit + limit // 2, 8), 0  # common words fill a page from the first chunk
    while len(found) < limit:
        sql, params = _page_sql(db, flt, after=after, before=before, limit=chunk)
        rows = _ordered(all_rows(db, sql, params, 2), descending=before is not None)
        matched = matching(db, flt.run_id, hits, [row[0] for row in rows])
        found.extend(row for row in rows if row[0] in matched)
        read += len(rows)
        if len(rows) < chunk:
            break
        if before is not None:
            before = rows[-1][0]
        else:
            after = rows[-1][0]
        chunk = _next_chunk(limit - len(found), len(found), read)
    return found[:limit]


def _next_chunk(missing: int, found: int, read: int) -> int:
    """How many more rows to read for `missing` matches, from the match rate so far.

    A quarter more than the rate predicts, so one more step usually finishes the page; rare
    words (no match yet) read on in doubling steps up to SEARCH_CHUNK.
    """
    if found == 0:
        return min(2 * read, SEARCH_CHUNK)
    return max(16, min(SEARCH_CHUNK, int(missing * read / found * 1.25) + 1))


def _rows(db: Database, flt: BrowseFilter, hits: list[tuple]) -> list[BrowseRow]:
    if not hits:
        return []
    ids = [h[0] for h in hits]
    marks = ", ".join("?" * len(ids))
    examples = {r[0]: r[1:] for r in all_rows(
        db, f"SELECT e.id, e.ext_id, substr(e.question, 1, {QUESTION_CHARS}), e.answer, "
        f"coalesce(a.excluded, 0) FROM examples e LEFT JOIN annotations a ON a.example_id = e.id "
        f"WHERE e.id IN ({marks})", ids, 5)}
    tags: dict[int, list[str]] = {}
    for example_id, tag in sorted(all_rows(
            db, f"SELECT example_id, tag FROM example_tags WHERE example_id IN ({marks})",
            ids, 2)):
        tags.setdefault(example_id, []).append(tag)
    answers = dict(all_rows(
        db, f"SELECT example_id, answer FROM predictions WHERE run_id = ? AND iteration = ? "
        f"AND split = ? AND example_id IN ({marks})", [flt.run_id, flt.iteration, flt.split, *ids],
        2))
    history: dict[int, list[tuple[int, bool]]] = {}
    for example_id, iteration, correct in sorted(all_rows(
            # INDEXED BY: left to itself SQLite scans the run's whole split on predictions_by_status
            db, f"SELECT example_id, iteration, correct FROM predictions INDEXED BY "
            f"predictions_by_example WHERE example_id IN ({marks}) AND run_id = ? AND split = ?",
            [*ids, flt.run_id, flt.split], 3)):
        history.setdefault(example_id, []).append((iteration, bool(correct)))
    rows = []
    for example_id, correct in hits:
        ext_id, question, gold, excluded = examples.get(example_id, ("?", "", "", 0))
        rows.append(BrowseRow(example_id, ext_id, question, gold, answers.get(example_id),
                              bool(correct), tuple(history.get(example_id, ())), bool(excluded),
                              tuple(tags.get(example_id, ()))))
    return rows


def browse_count(db: Database, flt: BrowseFilter, hits: SearchHits | None = None) -> int:
    """How many rows the filter matches (a separate query: the first page does not wait for it)."""
    return browse_count_bounded(db, flt, hits, max_read=None)[0]


def browse_count_bounded(db: Database, flt: BrowseFilter, hits: SearchHits | None = None, *,
                         max_read: int | None = COUNT_READ_CAP) -> tuple[int, bool]:
    """(count, exact): a search over many rows stops after checking `max_read` of them.

    Without a search, or for a search with few matches, the count is one SQL count and exact.
    A common word within a big status filter is checked in Python chunk by chunk; past
    `max_read` rows the matches so far are a lower bound (exact=False), shown as "N+".
    """
    if not flt.comparable:
        return 0, True
    if flt.search and hits is None:
        hits = search_hits(db, flt.search)
    only = hits.examples_for(flt.run_id) if flt.search and hits is not None else None
    body, params = _filtered(db, flt, only)
    if not flt.search or hits is None or only is not None:
        return db.execute(f"SELECT count(*) {body}", params).fetchone()[0], True
    if not hits:
        return 0, True
    candidates = sorted(id_set(db, f"SELECT p.example_id {body}", params))
    limit = len(candidates) if max_read is None else min(max_read, len(candidates))
    step = SEARCH_CHUNK
    n = sum(len(matching(db, flt.run_id, hits, candidates[i:min(i + step, limit)]))
            for i in range(0, limit, step))
    return n, limit == len(candidates)


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
    """EXPLAIN QUERY PLAN of the page or count query of a filter (for tests and benchmarks)."""
    if what == "page":
        sql, params = _page_sql(db, flt, after=0, before=None, limit=PAGE_SIZE)
    elif what == "page_before":
        sql, params = _page_sql(db, flt, after=None, before=1 << 62, limit=PAGE_SIZE)
    elif what == "count":
        body, params = _filtered(db, flt)
        sql = f"SELECT count(*) {body}"
    elif what == "history":
        sql = ("SELECT example_id, iteration, correct FROM predictions INDEXED BY "
               "predictions_by_example WHERE example_id IN (?, ?) AND run_id = ? AND split = ? "
               "ORDER BY example_id, iteration")
        params = [1, 2, flt.run_id, flt.split]
    else:
        raise ValueError(f"unknown query {what!r}")
    plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()]
    query = fts_query(flt.search)
    if query and what != "history":
        for name, search_sql in SEARCH_SQL.items():
            plan += [f"search {name}: {row[3]}" for row in
                     db.execute(f"EXPLAIN QUERY PLAN {search_sql}", [query]).fetchall()]
        plan += [f"search run: {row[3]}" for row in db.execute(
            f"EXPLAIN QUERY PLAN {RATIONALES_OF.format(marks='?, ?')}", [1, 2, flt.run_id])]
        few, few_params = _page_sql(db, flt, after=0, before=None, limit=PAGE_SIZE, only=[1, 2])
        plan += [f"search few: {row[3]}" for row in
                 db.execute(f"EXPLAIN QUERY PLAN {few}", few_params).fetchall()]
    return plan

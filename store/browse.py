"""Paged, filtered queries for the TUI's errors browser.

Every query here is built to stay fast on a store with ~100k examples and ~1M rationales and
predictions: pages are fetched by keyset (`example_id > last`, LIMIT n) on the
`predictions_by_status` index, per-row details (question, tags, history) are looked up only for
the rows of one page, and full-text search goes through the FTS5 tables. Row counts are a
separate query so a screen can paint the first page before the count is known.

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

import re
from dataclasses import dataclass, replace
from typing import Any

from sqlite_utils import Database

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


def _filtered(db: Database, flt: BrowseFilter) -> tuple[str, list[Any]]:
    """`FROM ... WHERE ...` for the rows of a filter, and its parameters (p = prediction at k)."""
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
        joins.append("JOIN predictions q ON q.run_id = p.run_id AND q.iteration = ? "
                     "AND q.split = p.split AND q.example_id = p.example_id "
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
    query = fts_query(flt.search)
    if query:
        where.append(
            "p.example_id IN (SELECT rowid FROM examples_fts WHERE examples_fts MATCH ? "
            "UNION SELECT r.example_id FROM rationales r WHERE r.id IN "
            "(SELECT rowid FROM rationales_fts WHERE rationales_fts MATCH ?) "
            "AND (r.run_id = ? OR r.run_id IS NULL))")
        params.extend([query, query, flt.run_id])
    sql = "FROM predictions p " + " ".join(joins) + " WHERE " + " AND ".join(where)
    return sql, join_params + params


def _page_sql(db: Database, flt: BrowseFilter, *, after: int | None, before: int | None,
              limit: int) -> tuple[str, list[Any]]:
    body, params = _filtered(db, flt)
    if after is not None:
        body += " AND p.example_id > ?"
        params.append(after)
    if before is not None:
        body += " AND p.example_id < ?"
        params.append(before)
    # Reading backwards (the last page, or the page before a window) walks the index in reverse.
    order = "DESC" if before is not None else "ASC"
    return (f"SELECT p.example_id, p.answer, p.correct {body} "
            f"ORDER BY p.example_id {order} LIMIT ?", params + [limit])


def browse_page(db: Database, flt: BrowseFilter, *, after: int | None = None,
                before: int | None = None, last: bool = False,
                limit: int = PAGE_SIZE) -> list[BrowseRow]:
    """One page of rows in example-id order.

    after:  rows with example_id > after (the next page); None = from the start.
    before: rows with example_id < before (the previous page).
    last:   the last page of the filter.
    """
    if not flt.comparable:
        return []
    if last and before is None:
        before = 1 << 62
    sql, params = _page_sql(db, flt, after=after, before=before, limit=limit)
    hits = db.execute(sql, params).fetchall()
    if before is not None:
        hits.reverse()
    return _rows(db, flt, hits)


def _rows(db: Database, flt: BrowseFilter, hits: list[tuple]) -> list[BrowseRow]:
    if not hits:
        return []
    ids = [h[0] for h in hits]
    marks = ", ".join("?" * len(ids))
    examples = {r[0]: r[1:] for r in db.execute(
        f"SELECT e.id, e.ext_id, substr(e.question, 1, {QUESTION_CHARS}), e.answer, "
        f"coalesce(a.excluded, 0) FROM examples e LEFT JOIN annotations a ON a.example_id = e.id "
        f"WHERE e.id IN ({marks})", ids)}
    tags: dict[int, list[str]] = {}
    for example_id, tag in db.execute(
            f"SELECT example_id, tag FROM example_tags WHERE example_id IN ({marks}) "
            f"ORDER BY example_id, tag", ids):
        tags.setdefault(example_id, []).append(tag)
    history: dict[int, list[tuple[int, bool]]] = {}
    for example_id, iteration, correct in db.execute(
            f"SELECT example_id, iteration, correct FROM predictions WHERE run_id = ? "
            f"AND split = ? AND example_id IN ({marks}) ORDER BY example_id, iteration",
            [flt.run_id, flt.split, *ids]):
        history.setdefault(example_id, []).append((iteration, bool(correct)))
    rows = []
    for example_id, answer, correct in hits:
        ext_id, question, gold, excluded = examples.get(example_id, ("?", "", "", 0))
        rows.append(BrowseRow(example_id, ext_id, question, gold, answer, bool(correct),
                              tuple(history.get(example_id, ())), bool(excluded),
                              tuple(tags.get(example_id, ()))))
    return rows


def browse_count(db: Database, flt: BrowseFilter) -> int:
    """How many rows the filter matches (a separate query: the first page does not wait for it)."""
    if not flt.comparable:
        return 0
    body, params = _filtered(db, flt)
    return db.execute(f"SELECT count(*) {body}", params).fetchone()[0]


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
    else:
        raise ValueError(f"unknown query {what!r}")
    return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()]

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

import json
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
SEARCH_CHUNK = 2000  # at most this many status-filter rows read per step of a search
SMALL_SEARCH = 5000  # up to this many matches, a search becomes an id list inside the SQL


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


def _all_rows(db: Database, sql: str, params: list[Any], width: int) -> list[tuple]:
    """Every row of `sql` (which selects `width` columns) fetched in one step, as one JSON array.

    A query that returns thousands of rows row by row releases and re-takes the GIL once per
    row; in a worker thread beside a busy UI thread each re-take can wait a full switch
    interval, which turned 20 ms queries into 300 ms ones. One aggregate row avoids that.
    """
    columns = ", ".join(f"c{i}" for i in range(width))
    wrapped = (f"WITH inner_rows({columns}) AS ({sql}) "
               f"SELECT json_group_array(json_array({columns})) FROM inner_rows")
    text = db.execute(wrapped, params).fetchone()[0]
    return [tuple(row) for row in json.loads(text)] if text else []


def _id_set(db: Database, sql: str, params: list[Any]) -> frozenset[int]:
    """The integer ids one query selects, fetched in one step (see _all_rows)."""
    text = db.execute(f"WITH ids(id) AS ({sql}) SELECT group_concat(id) FROM ids",
                      params).fetchone()[0]
    return frozenset(map(int, text.split(","))) if text else frozenset()


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
    order = "DESC" if before is not None else "ASC"
    return (f"SELECT p.example_id, p.answer, p.correct {body} "
            f"ORDER BY p.example_id {order} LIMIT ?", params + [limit])


SEARCH_SQL = {
    "questions": "SELECT rowid FROM examples_fts WHERE examples_fts MATCH ?",
    "rationales": "SELECT rowid FROM rationales_fts WHERE rationales_fts MATCH ?",
}
# Which rationales of a chunk of candidate examples belong to this run (covering index seek).
RATIONALES_OF = ("SELECT example_id, id FROM rationales INDEXED BY rationales_by_example "
                 "WHERE example_id IN ({marks}) AND (run_id = ? OR run_id IS NULL)")


@dataclass(frozen=True, repr=False)
class SearchHits:
    """What one search matched: example ids by question text, rationale ids by rationale text.

    Only the FTS5 indexes are read (no table rows), so even a word in every rationale costs one
    pass over its doclist; which matching rationale belongs to which example and run is checked
    per chunk of candidate rows, through rationales_by_example.
    """

    questions: frozenset[int]
    rationales: frozenset[int]
    owners: tuple[tuple[int, int | None], ...] | None = None  # (example, run) per rationale

    def __bool__(self) -> bool:
        return bool(self.questions or self.rationales)

    def __repr__(self) -> str:  # cheap: workers put their arguments in their descriptions
        return (f"SearchHits({len(self.questions)} questions, {len(self.rationales)} "
                "rationales)")

    def examples_for(self, run_id: int) -> list[int] | None:
        """The matching example ids of one run, when the search matched few (else None)."""
        if self.owners is None or len(self.questions) > SMALL_SEARCH:
            return None
        ids = set(self.questions)
        ids.update(e for e, run in self.owners if run is None or run == run_id)
        return sorted(ids)


def search_hits(db: Database, text: str | None) -> SearchHits | None:
    """The FTS5 matches of a search (None when there is nothing to search for).

    Callers keep it while the search text stays the same: paging, other statuses, iterations,
    splits and runs all reuse it.
    """
    query = fts_query(text)
    if query is None:
        return None
    questions = _id_set(db, SEARCH_SQL["questions"], [query])
    rationales = _id_set(db, SEARCH_SQL["rationales"], [query])
    owners = None
    if len(rationales) <= SMALL_SEARCH:  # few: resolve them now, one primary-key lookup each
        owners = tuple(_all_rows(
            db, "SELECT example_id, run_id FROM rationales WHERE id IN "
            "(SELECT value FROM json_each(?))", [json.dumps(sorted(rationales))], 2))
    return SearchHits(questions, rationales, owners)


def _matching(db: Database, run_id: int, hits: SearchHits, candidates: list[int]) -> set[int]:
    """The candidate example ids whose question or one of whose rationales (this run) matched."""
    matched = {c for c in candidates if c in hits.questions}
    rest = [c for c in candidates if c not in matched]
    if rest and hits.rationales:
        sql = RATIONALES_OF.format(marks=", ".join("?" * len(rest)))
        for example_id, rationale_id in _all_rows(db, sql, [*rest, run_id], 2):
            if rationale_id in hits.rationales:
                matched.add(example_id)
    return matched


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
        found = _ordered(_all_rows(db, sql, params, 3), descending=before is not None)
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
    chunk = max(2 * limit, 8)  # common words fill a page from the first small chunk
    while len(found) < limit:
        sql, params = _page_sql(db, flt, after=after, before=before, limit=chunk)
        rows = _ordered(_all_rows(db, sql, params, 3), descending=before is not None)
        matched = _matching(db, flt.run_id, hits, [row[0] for row in rows])
        found.extend(row for row in rows if row[0] in matched)
        if len(rows) < chunk:
            break
        if before is not None:
            before = rows[-1][0]
        else:
            after = rows[-1][0]
        chunk = min(2 * chunk, SEARCH_CHUNK)  # rarer ones: read on in bigger steps
    return found[:limit]


def _rows(db: Database, flt: BrowseFilter, hits: list[tuple]) -> list[BrowseRow]:
    if not hits:
        return []
    ids = [h[0] for h in hits]
    marks = ", ".join("?" * len(ids))
    examples = {r[0]: r[1:] for r in _all_rows(
        db, f"SELECT e.id, e.ext_id, substr(e.question, 1, {QUESTION_CHARS}), e.answer, "
        f"coalesce(a.excluded, 0) FROM examples e LEFT JOIN annotations a ON a.example_id = e.id "
        f"WHERE e.id IN ({marks})", ids, 5)}
    tags: dict[int, list[str]] = {}
    for example_id, tag in sorted(_all_rows(
            db, f"SELECT example_id, tag FROM example_tags WHERE example_id IN ({marks})",
            ids, 2)):
        tags.setdefault(example_id, []).append(tag)
    history: dict[int, list[tuple[int, bool]]] = {}
    for example_id, iteration, correct in sorted(_all_rows(
            # INDEXED BY: left to itself SQLite scans the run's whole split on predictions_by_status
            db, f"SELECT example_id, iteration, correct FROM predictions INDEXED BY "
            f"predictions_by_example WHERE example_id IN ({marks}) AND run_id = ? AND split = ?",
            [*ids, flt.run_id, flt.split], 3)):
        history.setdefault(example_id, []).append((iteration, bool(correct)))
    rows = []
    for example_id, answer, correct in hits:
        ext_id, question, gold, excluded = examples.get(example_id, ("?", "", "", 0))
        rows.append(BrowseRow(example_id, ext_id, question, gold, answer, bool(correct),
                              tuple(history.get(example_id, ())), bool(excluded),
                              tuple(tags.get(example_id, ()))))
    return rows


def browse_count(db: Database, flt: BrowseFilter, hits: SearchHits | None = None) -> int:
    """How many rows the filter matches (a separate query: the first page does not wait for it)."""
    if not flt.comparable:
        return 0
    if flt.search and hits is None:
        hits = search_hits(db, flt.search)
    only = hits.examples_for(flt.run_id) if flt.search and hits is not None else None
    body, params = _filtered(db, flt, only)
    if not flt.search or hits is None or only is not None:
        return db.execute(f"SELECT count(*) {body}", params).fetchone()[0]
    if not hits:
        return 0
    candidates = sorted(_id_set(db, f"SELECT p.example_id {body}", params))
    step = SEARCH_CHUNK
    return sum(len(_matching(db, flt.run_id, hits, candidates[i:i + step]))
               for i in range(0, len(candidates), step))


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

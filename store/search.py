"""Full-text search for the errors browser: what a user typed, as FTS5 matches.

Only the FTS5 indexes are read for a search (no table rows); which matching rationale belongs to
which example and run is resolved per chunk of candidate examples (store.browse walks them).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sqlite_utils import Database

from store.fetch import all_rows, id_set

SMALL_SEARCH = 5000  # up to this many matches, a search becomes an id list inside the SQL


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
    questions = id_set(db, SEARCH_SQL["questions"], [query])
    rationales = id_set(db, SEARCH_SQL["rationales"], [query])
    owners = None
    if len(rationales) <= SMALL_SEARCH:  # few: resolve them now, one primary-key lookup each
        owners = tuple(all_rows(
            db, "SELECT example_id, run_id FROM rationales WHERE id IN "
            "(SELECT value FROM json_each(?))", [json.dumps(sorted(rationales))], 2))
    return SearchHits(questions, rationales, owners)


def matching(db: Database, run_id: int, hits: SearchHits, candidates: list[int]) -> set[int]:
    """The candidate example ids whose question or one of whose rationales (this run) matched."""
    matched = {c for c in candidates if c in hits.questions}
    rest = [c for c in candidates if c not in matched]
    if rest and hits.rationales:
        sql = RATIONALES_OF.format(marks=", ".join("?" * len(rest)))
        for example_id, rationale_id in all_rows(db, sql, [*rest, run_id], 2):
            if rationale_id in hits.rationales:
                matched.add(example_id)
    return matched

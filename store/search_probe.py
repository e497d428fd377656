"""Searches that match nearly everything: checked row by row instead of listed up front.

store.search lists a search's matches in TEMP tables, which costs ~150 ns per matching row:
~100 ms for a word in every rationale of a 100k-example store, before the first page can show.
Such a search barely narrows the filter, so its first page is found sooner by walking the
filter and asking FTS5 about each row (`rowid = ?` seeks: 0.02-0.05 ms each, and a page needs
about one per row).

A seek is only cheap for exact terms: a prefix term ("friend"*) makes FTS5 merge every matching
term's whole doclist on each seek (8 ms). So the user's last word, a prefix, is expanded into
the index's own terms that start with it (fts5vocab), and the probe query names them exactly.
The same vocabulary gives each term's document count, hence an upper bound on the matches that
decides whether the search is big enough to probe.

Safe by construction or not at all: a quoted term is tokenized again by FTS5 (porter stemming),
so every expanded term must come back from the tokenizer unchanged, and each word must be one
token; otherwise there is no probe plan and the search is listed as usual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlite_utils import Database

HUGE_SEARCH = 150_000  # estimated matches from which rows are probed instead of listed
MAX_TERMS = 24  # a prefix expanding into more terms than this is listed, not probed
TOKENIZER = "porter unicode61"  # as examples_fts and rationales_fts (store.schema)
_TOP = "\U0010ffff"

_CREATE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.undo_vocab_questions "
    "USING fts5vocab(main, examples_fts, 'row')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.undo_vocab_rationales "
    "USING fts5vocab(main, rationales_fts, 'row')",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.undo_tokenize USING fts5(text, tokenize='{TOKENIZER}')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.undo_tokenize_vocab "
    "USING fts5vocab(temp, undo_tokenize, 'row')",
]
VOCABS = ("temp.undo_vocab_questions", "temp.undo_vocab_rationales")


@dataclass(frozen=True)
class ProbePlan:
    query: str  # an FTS5 query of exact terms, equivalent to store.search.fts_query(text)
    estimate: int  # at least as many matching questions + rationales as there are


def tokens(db: Database, text: str) -> list[str]:
    """What the FTS tables' tokenizer makes of `text`, as distinct terms (sorted)."""
    db.execute("DELETE FROM temp.undo_tokenize")
    db.execute("INSERT INTO temp.undo_tokenize (text) VALUES (?)", [text])
    return [row[0] for row in db.execute("SELECT term FROM temp.undo_tokenize_vocab")]


def probe_plan(db: Database, text: str | None) -> ProbePlan | None:
    """An exact-term query for `text` and its match estimate; None where that is not safe
    (or where nothing matches: listing nothing is already fast)."""
    words = re.findall(r"\w+", text or "")
    if not words:
        return None
    for sql in _CREATE:
        db.execute(sql)
    stems = [tokens(db, word) for word in words]
    if any(len(stem) != 1 for stem in stems):
        return None  # a word the tokenizer splits or drops
    exact, prefix = [stem[0] for stem in stems[:-1]], stems[-1][0]
    # per table: the documents of each term the prefix expands into (one pass over its range)
    expansions = [dict(db.execute(f"SELECT term, doc FROM {vocab} WHERE term >= ?1 "
                                  "AND term < ?1 || ?2", [prefix, _TOP]).fetchall())
                  for vocab in VOCABS]
    expanded = sorted({term for terms in expansions for term in terms})
    if not expanded or len(expanded) > MAX_TERMS:
        return None
    if tokens(db, " ".join(expanded)) != expanded:
        return None  # a stored term that stemming would change again
    estimate = 0
    for vocab, terms in zip(VOCABS, expansions):
        # the rarest word bounds a table's matches (all words must match)
        estimate += min([sum(terms.values()), *(_docs(db, vocab, stem) for stem in exact)])
    last = "(" + " OR ".join(f'"{term}"' for term in expanded) + ")"
    return ProbePlan(" AND ".join([*(f'"{word}"' for word in words[:-1]), last]), estimate)


def _docs(db: Database, vocab: str, term: str) -> int:
    row = db.execute(f"SELECT doc FROM {vocab} WHERE term = ?", [term]).fetchone()
    return row[0] if row else 0


def probe_matches(example_id: str) -> str:
    """SQL: whether the example in column `example_id` matches, asked of FTS5 row by row.

    Three ? in order: the probe query, the run, the probe query (as store.search.matches, but
    without the TEMP tables).
    """
    return (f"(EXISTS (SELECT 1 FROM examples_fts WHERE examples_fts MATCH ? "
            f"AND rowid = {example_id}) OR EXISTS (SELECT 1 FROM rationales r INDEXED BY "
            f"rationales_by_example WHERE r.example_id = {example_id} "
            "AND (r.run_id = ? OR r.run_id IS NULL) AND EXISTS (SELECT 1 FROM rationales_fts "
            "WHERE rationales_fts MATCH ? AND rowid = r.id)))")

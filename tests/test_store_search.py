"""store.search + store.browse: a search's matches joined in SQL from per-connection TEMP tables.

The reference is the semantics the browser always had, computed here in plain Python from the
FTS5 tables: an example matches when its question does, or one of its rationales of the viewed
run (or of no run) does. Every way of reading a search (few matches: a short list of example
ids; many: each row of the status filter checked against the listed matches; probe: each row
asked of FTS5 with the exact terms of store.search_probe) must give exactly that, page by page.
"""

from __future__ import annotations

import pytest

import store
import store.search
import store.search_probe
from store import browse
from store.browse import BrowseFilter
from store.rationales import NewRationale

WORDS = ["Raj", "Buying", "total", "apples", "Tom apples", "things", "buy", "zebra", "T",
         "apples Ra", "how many"]


@pytest.fixture
def fx(tui_store):
    path, ids = tui_store
    db = store.open_store(path)
    yield db, ids, path
    db.close()


@pytest.fixture(params=["few", "many"])
def mode(request, monkeypatch):
    """Force either way of reading a search (the fixture's searches are all small)."""
    if request.param == "many":
        monkeypatch.setattr(store.search, "SMALL_SEARCH", -1)
    return request.param


@pytest.fixture(params=["few", "many", "probe"])
def any_mode(request, monkeypatch):
    """As `mode`, plus probing every search that has a probe plan (as if all were huge)."""
    if request.param == "many":
        monkeypatch.setattr(store.search, "SMALL_SEARCH", -1)
    if request.param == "probe":
        monkeypatch.setattr(store.search, "HUGE_SEARCH", 0)
    return request.param


def reference(db, flt: BrowseFilter) -> list[int]:
    """The filter's example ids, in order, that the search matches (computed in Python)."""
    query = browse.fts_query(flt.search)
    questions = {r[0] for r in db.execute(
        "SELECT rowid FROM examples_fts WHERE examples_fts MATCH ?", [query])}
    matching = {r[0] for r in db.execute(
        "SELECT rowid FROM rationales_fts WHERE rationales_fts MATCH ?", [query])}
    owners = {(e, run) for i, e, run in db.execute(
        "SELECT id, example_id, run_id FROM rationales") if i in matching}
    matched = questions | {e for e, run in owners if run is None or run == flt.run_id}
    every = browse.browse_page(db, flt.with_(search=None), limit=10 ** 6)
    return [row.example_id for row in every if row.example_id in matched]


def walk(db, flt: BrowseFilter, step: int) -> tuple[list[int], list[int]]:
    """Every row of a filter, forwards from the start and backwards from the last page."""
    forwards, after = [], None
    while page := browse.browse_page(db, flt, after=after, limit=step):
        forwards += [row.example_id for row in page]
        after = page[-1].example_id
    backwards = [row.example_id for row in browse.browse_page(db, flt, last=True, limit=step)]
    while backwards and (page := browse.browse_page(db, flt, before=backwards[0], limit=step)):
        backwards = [row.example_id for row in page] + backwards
    return forwards, backwards


@pytest.mark.parametrize("split,k,tag", [("train", 3, None), ("train", 2, "carry"),
                                         ("val", 3, None)])
def test_searched_pages_and_counts_equal_the_reference(fx, any_mode, split, k, tag):
    db, ids, _ = fx
    seen_some = probed = False
    for word in WORDS:
        for status in browse.STATUSES:
            flt = BrowseFilter(ids["run"], split, k, status, previous=k - 1, tag=tag,
                               search=word)
            want = reference(db, flt)
            seen_some |= bool(want)
            hits = browse.search_hits(db, word, ids["run"])
            probed |= hits.probe is not None
            if any_mode != "probe":  # (probe: a count's listed matches may be reused)
                assert hits.few == (any_mode == "few") and hits.probe is None
            got = [row.example_id for row in browse.browse_page(db, flt)]
            assert got == want, (word, status)
            assert walk(db, flt, step=2) == (want, want), (word, status)
            assert browse.browse_count(db, flt) == len(want), (word, status)
            assert browse.browse_count_bounded(db, flt) == (len(want), True)
    assert seen_some
    assert probed == (any_mode == "probe")


def test_a_probe_plan_names_exact_terms_and_bounds_the_matches(fx):
    db, ids, _ = fx
    plan = store.search_probe.probe_plan(db, "Tom app")
    assert plan.query == '"Tom" AND ("appl")'  # porter's stem of "apples", found from "app"
    questions = db.execute("SELECT count(*) FROM examples_fts WHERE examples_fts MATCH ?",
                           [browse.fts_query("Tom app")]).fetchone()[0]
    rationales = db.execute("SELECT count(*) FROM rationales_fts WHERE rationales_fts MATCH ?",
                            [browse.fts_query("Tom app")]).fetchone()[0]
    assert questions + rationales > 0
    assert plan.estimate >= questions + rationales
    assert store.search_probe.probe_plan(db, "zebra") is None  # matches nothing: nothing to plan
    assert store.search_probe.probe_plan(db, "  ") is None


def test_a_search_too_wide_to_probe_safely_is_listed(fx, monkeypatch):
    db, ids, _ = fx
    monkeypatch.setattr(store.search, "HUGE_SEARCH", 0)
    monkeypatch.setattr(store.search_probe, "MAX_TERMS", 1)
    hits = browse.search_hits(db, "a", ids["run"])  # "a" starts many terms
    assert hits.probe is None and hits.matches > 0


def test_a_rationale_of_another_run_does_not_match(fx, mode):
    db, ids, _ = fx
    # "total" is only in run 1's iteration-3 rationales
    mine = BrowseFilter(ids["run"], "train", 3, "all", previous=2, search="total")
    assert browse.browse_count(db, mine) == len(ids["train_ids"])
    assert browse.search_hits(db, "total", ids["run"]).matches == len(ids["train_ids"])
    other = mine.with_(run_id=ids["baseline"])
    assert browse.browse_page(db, other) == [] and browse.browse_count(db, other) == 0


def test_a_search_is_redone_when_the_store_has_newer_rationales(fx, mode, monkeypatch):
    db, ids, _ = fx
    run, train = ids["run"], ids["train_ids"]
    flt = BrowseFilter(run, "train", 3, "all", previous=2, search="zebra")
    assert browse.browse_page(db, flt) == []
    builds = []
    real_build = store.search._build
    monkeypatch.setattr(store.search, "_build",
                        lambda *a: builds.append(a[1]) or real_build(*a))
    assert browse.browse_count(db, flt) == 0 and builds == []  # kept on this connection
    store.add_rationales(db, [NewRationale(train[5], run, 3, "human", "A zebra counts them.",
                                           answer="1", correct=True, kept=True)])
    assert [row.example_id for row in browse.browse_page(db, flt)] == [train[5]]
    assert builds == ['"zebra"*']
    assert browse.browse_count(db, flt) == 1 and len(builds) == 1


def test_each_connection_keeps_its_own_search(fx, mode):
    db, ids, path = fx
    other = store.connect(path)
    try:
        flt = BrowseFilter(ids["run"], "train", 3, "all", previous=2)
        raj, apples = flt.with_(search="Raj"), flt.with_(search="apples")
        want_raj, want_apples = reference(db, raj), reference(db, apples)
        assert want_raj and want_apples and want_raj != want_apples
        assert [r.example_id for r in browse.browse_page(db, raj)] == want_raj
        assert [r.example_id for r in browse.browse_page(other, apples)] == want_apples
        assert [r.example_id for r in browse.browse_page(db, raj, limit=1)] == want_raj[:1]
        assert browse.browse_count(other, apples) == len(want_apples)
        # another run on the same connection is a new search, not the cached one
        assert browse.browse_count(db, raj.with_(run_id=ids["live"])) == 0
    finally:
        other.close()


def test_a_count_over_many_rows_stops_at_the_cap(fx, monkeypatch):
    db, ids, _ = fx
    monkeypatch.setattr(store.search, "SMALL_SEARCH", -1)  # the row-by-row probe
    train = ids["train_ids"]
    every = BrowseFilter(ids["run"], "train", 3, "all", previous=2, search="Buying")
    n = len(train)
    assert browse.browse_count_bounded(db, every, max_read=None) == (n, True)
    assert browse.browse_count_bounded(db, every, max_read=5) == (5, False)  # "5+"
    assert browse.browse_count_bounded(db, every, max_read=n) == (n, True)
    assert browse.browse_count_bounded(db, every, max_read=n + 1) == (n, True)
    # only train[2]'s question has "Raj": the cap is on rows checked, not on matches
    raj = every.with_(search="Raj")
    assert browse.browse_count_bounded(db, raj, max_read=2) == (0, False)
    assert browse.browse_count_bounded(db, raj, max_read=3) == (1, False)
    assert browse.browse_count_bounded(db, raj, max_read=n) == (1, True)
    assert browse.browse_count_bounded(db, every.with_(search=None), max_read=1) == (n, True)


def test_nothing_to_search_for_and_operators(fx, mode):
    db, ids, _ = fx
    assert browse.search_hits(db, "   ", ids["run"]) is None
    flt = BrowseFilter(ids["run"], "train", 3, "all", previous=2, search='" OR ( NEAR *')
    assert browse.browse_page(db, flt) == [] and browse.browse_count(db, flt) == 0
    # no words at all: the filter is not narrowed
    assert len(browse.browse_page(db, flt.with_(search="!!!"))) == len(ids["train_ids"])

"""store.browse: the errors browser's paged, filtered queries, their answers and their plans."""

from __future__ import annotations

import pytest

import store
from store import browse
from store.browse import BrowseFilter
from tests.fixtures.tui_fixtures import TRAIN_PATTERNS, VAL_PATTERNS


def expected_ids(ids, patterns, status, k, previous):
    out = []
    for example_id, p in zip(ids, patterns):
        now = p[k] == "1"
        before = p[previous] == "1" if previous is not None else None
        keep = {
            "wrong": not now,
            "fixed": before is False and now,
            "regressed": before is True and not now,
            "still_wrong": before is False and not now,
            "always_right": all(c == "1" for c in p[:k + 1]),
            "all": True,
        }[status]
        if keep:
            out.append(example_id)
    return out


@pytest.fixture
def fx(tui_store):
    path, ids = tui_store
    db = store.open_store(path)
    yield db, ids
    db.close()


@pytest.mark.parametrize("status", list(browse.STATUSES))
@pytest.mark.parametrize("split,k", [("val", 3), ("val", 1), ("train", 2)])
def test_status_filters_match_the_verdict_patterns(fx, status, split, k):
    db, ids = fx
    patterns = VAL_PATTERNS if split == "val" else TRAIN_PATTERNS
    split_ids = ids["val_ids"] if split == "val" else ids["train_ids"]
    flt = BrowseFilter(ids["run"], split, k, status, previous=k - 1)
    rows = browse.browse_page(db, flt)
    want = expected_ids(split_ids, patterns, status, k, k - 1)
    assert [r.example_id for r in rows] == want
    assert browse.browse_count(db, flt) == len(want)
    for row in rows:  # every row carries its verdict at each evaluated iteration
        pattern = patterns[split_ids.index(row.example_id)]
        assert row.history == tuple((i, c == "1") for i, c in enumerate(pattern))
        assert row.correct == (pattern[k] == "1")
        # the student's answer at k (looked up per page, not read during the walk)
        assert row.answer == (row.gold if row.correct else str(int(row.gold) + 1))


def test_comparisons_need_an_earlier_iteration(fx):
    db, ids = fx
    flt = BrowseFilter(ids["run"], "val", 0, "fixed", previous=None)
    assert not flt.comparable
    assert browse.browse_page(db, flt) == [] and browse.browse_count(db, flt) == 0
    with pytest.raises(ValueError, match="unknown status"):
        BrowseFilter(ids["run"], "val", 0, "bogus")


def test_keyset_pages_forward_backward_and_last(fx):
    db, ids = fx
    flt = BrowseFilter(ids["run"], "train", 3, "all", previous=2)
    every = [r.example_id for r in browse.browse_page(db, flt, limit=100)]
    assert every == ids["train_ids"]
    first = browse.browse_page(db, flt, limit=5)
    second = browse.browse_page(db, flt, after=first[-1].example_id, limit=5)
    assert [r.example_id for r in first + second] == every[:10]
    last = browse.browse_page(db, flt, last=True, limit=5)
    assert [r.example_id for r in last] == every[-5:]
    before = browse.browse_page(db, flt, before=last[0].example_id, limit=5)
    assert [r.example_id for r in before] == every[-10:-5]


def test_tag_and_full_text_search_filters(fx):
    db, ids = fx
    run = ids["run"]
    tagged = BrowseFilter(run, "train", 3, "all", previous=2, tag="carry")
    assert [r.example_id for r in browse.browse_page(db, tagged)] == [ids["train_ids"][0],
                                                                      ids["train_ids"][3]]
    assert browse.browse_page(db, tagged)[0].tags == ("carry",)
    # a word of the question (examples_fts) ...
    by_question = BrowseFilter(run, "train", 3, "all", previous=2, search="Raj")
    assert [r.example_id for r in browse.browse_page(db, by_question)] == [ids["train_ids"][2]]
    # ... a word only the refined rationales contain (rationales_fts; porter-stemmed) ...
    by_rationale = BrowseFilter(run, "train", 3, "all", previous=2, search="Buying")
    assert browse.browse_count(db, by_rationale) == len(ids["train_ids"])
    # ... and the last word as a prefix
    prefix = BrowseFilter(run, "train", 3, "all", previous=2, search="Raj marb")
    assert [r.example_id for r in browse.browse_page(db, prefix)] == [ids["train_ids"][2]]
    nothing = BrowseFilter(run, "train", 3, "all", previous=2, search="zebra")
    assert browse.browse_page(db, nothing) == []


@pytest.mark.parametrize("typed,query", [
    ("apples", '"apples"*'),
    ("Tom apples", '"Tom" "apples"*'),
    ('AND OR "NEAR( -x', '"AND" "OR" "NEAR" "x"*'),
    ("  ", None),
    ("!!!", None),
])
def test_user_input_becomes_a_safe_fts_query(typed, query):
    assert browse.fts_query(typed) == query


def test_operators_in_a_search_never_raise(fx):
    db, ids = fx
    flt = BrowseFilter(ids["run"], "train", 3, "all", previous=2, search='" OR ( NEAR *')
    assert browse.browse_count(db, flt) == 0


def test_iterations_and_splits_come_from_index_seeks(fx):
    db, ids = fx
    assert browse.browse_splits(db, ids["run"]) == ["train", "val"]
    assert browse.browse_iterations(db, ids["run"], "val") == [0, 1, 2, 3]
    assert browse.browse_iterations(db, ids["live"], "val") == []
    assert browse.previous_iteration([0, 1, 3], 3) == 1
    assert browse.previous_iteration([0, 1, 3], 0) is None


@pytest.mark.parametrize("status,index", [
    ("wrong", "predictions_by_status"), ("fixed", "predictions_by_status"),
    ("regressed", "predictions_by_status"), ("still_wrong", "predictions_by_status"),
    ("always_right", "predictions_by_status"), ("all", None)])
def test_query_plans_use_the_store_indexes(fx, status, index):
    db, ids = fx
    flt = BrowseFilter(ids["run"], "val", 3, status, previous=2)
    for what in ("page", "page_before", "count"):
        plan = " | ".join(browse.explain(db, flt, what=what))
        assert "SCAN p" not in plan and "SCAN predictions" not in plan, plan
        assert "iteration<" not in plan, plan  # a range probe per row is a scan in disguise
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
        if index:
            assert index in plan, plan
    if status in browse.NEEDS_PREVIOUS:
        # the earlier iteration is probed by equality on example_id, from the index alone; a
        # range derived from the keyset bound (example_id > ?) made each probe a scan
        for what in ("page", "page_before"):
            probe = [line for line in browse.explain(db, flt, what=what) if "SEARCH q" in line]
            assert probe and "COVERING INDEX predictions_by_status" in probe[0], probe
            assert "example_id=?" in probe[0], probe
    searched = flt.with_(search="apples", tag="carry")
    plan = browse.explain(db, searched, what="page")
    joined = " | ".join(plan)
    assert "example_tags_by_tag" in joined and "USE TEMP B-TREE FOR ORDER BY" not in joined
    assert "search questions: SCAN examples_fts VIRTUAL TABLE" in joined, plan
    assert "search rationales: SCAN rationales_fts VIRTUAL TABLE" in joined, plan
    # many matches: each row of the walk probes the TEMP tables, its rationales of this run
    # found through a covering index seek
    assert ("search many: SEARCH r USING COVERING INDEX rationales_by_example (example_id=?)"
            in joined), plan
    assert "search many: USING ROWID SEARCH ON TABLE undo_search_rationales" in joined, plan
    # few matches: their short list drives one covering seek per example into predictions
    few = [line for line in plan if line.startswith("search few: SEARCH p")]
    assert few and "example_id=?" in few[0], plan
    if index:
        assert index in few[0], plan
    if status in browse.NEEDS_PREVIOUS:
        # the earlier iteration is checked before the search's probes, which cost more
        many = [line for line in browse.explain(db, flt.with_(search="apples"), what="page")
                if line.startswith("search many:")]
        order = [i for i, line in enumerate(many) if "SEARCH q" in line or "undo_search" in line]
        assert order and "SEARCH q" in many[order[0]], many
    history = " | ".join(browse.explain(db, flt, what="history"))
    assert "predictions_by_example" in history and "TEMP B-TREE" not in history, history

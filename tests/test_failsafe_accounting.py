"""Teacher-pass accounting: calls made, retried, failed, served from cache, and after a kill -9
the calls that were in flight and were made again, checked against what a real loopback server
counted."""

from __future__ import annotations

import store
from engine.generation import PassOptions, run_teacher_pass
from engine.generation.teacher_pass import PassItem
from engine.teachers import make_teacher
from tests.fixtures.teacher_fixtures import add_dataset, fault_rows
from tests.test_teacher_cache import _generate_args, _row_counts, kill_generate_after
from undo_tui.cli import main


def items_of(db, dataset_id: int) -> list[PassItem]:
    return [PassItem(example=e) for e in store.load_examples(db, dataset_id, "train")]


def test_a_pass_counts_retried_failed_and_cached_calls(db, fault_server, fault_teacher_config):
    markers = ["[500x1]", "[429x1]", "[malformedx1]", "[500always]", "[ok] a", "[ok] b"]
    dataset_id = add_dataset(db, "faults", fault_rows(markers))
    run_id = store.create_run(db, "acct", {})
    with make_teacher(fault_teacher_config) as teacher:
        first = run_teacher_pass(db, teacher, items_of(db, dataset_id),
                                 PassOptions(run_id=run_id, keep="all"))
        second = run_teacher_pass(db, teacher, items_of(db, dataset_id),
                                  PassOptions(run_id=run_id, keep="all"))
    assert (first.calls_made, first.retried, first.failed, first.cache_hits) == (6, 4, 1, 0)
    assert first.calls_summary() == "6 calls made (4 retried, 1 failed), 0 from cache"
    assert fault_server.hits_for("[500always]") == 2 * (1 + fault_teacher_config.max_retries)
    # the second pass: five answers from the cache, the failed call made again
    assert (second.calls_made, second.cache_hits, second.failed, second.repeated) == (1, 5, 1, 0)
    assert db.execute("SELECT count(*) FROM teacher_inflight").fetchone()[0] == 0


def test_calls_in_flight_at_a_kill_are_counted_when_made_again(db, store_path, fault_server,
                                                                capsys):
    n = 24
    kill_generate_after(db, store_path, fault_server, n, 4, delay_s=0.3)
    in_flight = db.execute("SELECT count(*) FROM teacher_inflight").fetchone()[0]
    assert 1 <= in_flight <= 2  # --concurrency 2: the calls the kill cut off
    rows = _row_counts(store_path)[0]

    assert main(_generate_args(store_path, fault_server)) == 0
    out = capsys.readouterr().out
    assert (f"calls made: {n - rows}, served from cache: {rows}; retried: 0, failed: 0; "
            f"in flight at a kill and made again: {in_flight}") in out
    # server-counted: every repeat was a marked call (a marked call may die before its request
    # leaves, so the server can see fewer repeats than marks, never more)
    made_twice = sum(1 for hits in fault_server.hits.values() if hits == 2)
    assert 0 <= made_twice <= in_flight and fault_server.total == n + made_twice
    assert db.execute("SELECT count(*) FROM teacher_inflight").fetchone()[0] == 0

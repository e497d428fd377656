"""The OpenAI-compatible teacher against a loopback server that misbehaves on request.

Each test asserts what a user relies on: retries really happen (requests counted at the server),
Retry-After is honoured, failures become failed rows with the reason, truncated output is never
kept, a fatal error stops the pass, and nothing that finished is lost.
"""

from __future__ import annotations

import pytest

import store
from engine.generation import PassItem, PassOptions, run_teacher_pass
from engine.teachers import TeacherUnusable, make_teacher
from tests.fixtures.teacher_fixtures import add_dataset, fault_rows


def _pass(db, config, markers, *, answer="5", run_name="faults", **options):
    dataset_id = add_dataset(db, "faults", fault_rows(markers, answer))
    run_id = store.create_run(db, run_name, {}, kind="generate", dataset_id=dataset_id)
    items = [PassItem(e) for e in store.load_examples(db, dataset_id, "train")]
    teacher = make_teacher(config)
    report = run_teacher_pass(db, teacher, items, PassOptions(run_id=run_id, **options))
    rows = {r.example_id: r for r in store.rationales_for_iteration(db, run_id, 1)}
    by_marker = {m: rows.get(item.example.id) for m, item in zip(markers, items)}
    return report, by_marker, run_id


def test_transient_faults_are_retried_until_they_succeed(db, fault_server, fault_teacher_config):
    markers = ["[500x2]", "[malformedx1]", "[hangx1]", "[ok]"]
    report, rows, _ = _pass(db, fault_teacher_config, markers)
    assert fault_server.hits_for("[500x2]") == 3  # two 500s, then the answer
    assert fault_server.hits_for("[malformedx1]") == 2
    assert fault_server.hits_for("[hangx1]") == 2  # timed out once, answered on the retry
    assert fault_server.hits_for("[ok]") == 1
    assert all(r.status == "ok" and r.kept and r.answer == "5" for r in rows.values())
    assert report.calls_made == 4 and report.http_attempts == 3 + 2 + 2 + 1
    assert report.kept == report.attempted == 4 and report.failed == 0


def test_retry_after_is_honoured(db, fault_server, fault_teacher_config):
    _, rows, _ = _pass(db, fault_teacher_config, ["[429x1]"])
    first, second = fault_server.times[next(iter(fault_server.times))]
    assert second - first >= 0.95  # Retry-After: 1 (our own backoff would be ~0.05 s)
    assert rows["[429x1]"].kept


def test_persistent_faults_become_failed_rows_with_the_reason(db, fault_server,
                                                              fault_teacher_config):
    markers = ["[500always]", "[malformedalways]", "[hangalways]", "[empty]", "[echoauth]",
               "[ok]"]
    report, rows, run_id = _pass(db, fault_teacher_config, markers)
    retries = fault_teacher_config.max_retries
    assert fault_server.hits_for("[500always]") == retries + 1
    assert fault_server.hits_for("[hangalways]") == retries + 1
    assert fault_server.hits_for("[echoauth]") == 1  # a 400 is not worth retrying
    assert "HTTP 500" in rows["[500always]"].error and "3 attempts" in rows["[500always]"].error
    assert "malformed response" in rows["[malformedalways]"].error
    assert "timed out after 0.5s" in rows["[hangalways]"].error
    assert "empty response" in rows["[empty]"].error
    assert "HTTP 400" in rows["[echoauth]"].error
    for marker in markers[:-1]:
        row = rows[marker]
        assert (row.status, row.text, row.kept, row.correct) == ("failed", "", False, None)
        assert row.cache_key and row.prompt_hash
    assert rows["[ok]"].status == "ok" and rows["[ok]"].kept
    assert report.failed == 5 and report.kept == 1 and report.attempted == 6
    assert store.cache_size(db) == 1  # failures are never cached: a re-run asks again
    usage = store.get_iteration(db, run_id, 1)
    assert usage.teacher_calls == 1 and usage.teacher_completion_tokens == 12


def test_truncated_output_is_stored_but_never_kept(db, fault_server, fault_teacher_config):
    report, rows, _ = _pass(db, fault_teacher_config, ["[length]"], keep="all")
    row = rows["[length]"]
    assert row.status == "truncated" and not row.kept and "max_tokens=64" in row.error
    assert row.text.startswith("Tom starts")
    assert store.cache_get(db, row.cache_key).status == "truncated"  # paid: never asked again
    assert report.truncated == 1 and report.kept == 0


def test_a_failed_row_is_replaced_when_a_rerun_succeeds(db, fault_server, fault_teacher_config):
    markers = ["[500x3]", "[ok]"]  # 3 failures exhaust max_retries=2; the 4th request succeeds
    _, rows, run_id = _pass(db, fault_teacher_config, markers)
    assert rows["[500x3]"].status == "failed" and rows["[ok]"].kept
    dataset_id = store.get_dataset(db, "faults").id
    items = [PassItem(e) for e in store.load_examples(db, dataset_id, "train")]
    report = run_teacher_pass(db, make_teacher(fault_teacher_config), items,
                              PassOptions(run_id=run_id))
    assert report.calls_made == 1 and report.cache_hits == 1  # only the failed one is asked again
    stored = store.rationales_for_iteration(db, run_id, 1)
    assert len(stored) == 2 and all(r.status == "ok" and r.kept for r in stored)
    assert store.teacher_yield(db, run_id, 1) == (2, 2)


def test_unauthorised_stops_the_pass_and_keeps_what_finished(db, fault_server,
                                                             fault_teacher_config):
    config = fault_teacher_config
    config.concurrency = 1  # deterministic order: two answers, then the 401
    with pytest.raises(TeacherUnusable, match="HTTP 401"):
        _pass(db, config, ["[ok] a", "[ok] b", "[401]", "[ok] c", "[ok] d"])
    run_id = store.list_runs(db)[0].run.id
    rows = store.rationales_for_iteration(db, run_id, 1)
    assert [r.status for r in rows] == ["ok", "ok", "failed"]
    assert fault_server.total == 3  # nothing was sent after the fatal answer
    assert store.cache_size(db) == 2


@pytest.mark.parametrize("abandon", [False, True])
def test_stop_between_results_loses_nothing_finished(db, fault_server, fault_teacher_config,
                                                     abandon):
    fault_server.delay_s = 0.2
    config = fault_teacher_config
    config.concurrency, config.timeout_s = 2, 5.0
    # Requests 0 and 1 go out together, then 2 and 3; 3 is slow, so it is in flight when the
    # stop is requested after the third result.
    markers = ["[ok]", "[ok]", "[ok]", "[slow]"] + ["[ok]"] * 6
    dataset_id = add_dataset(db, "faults", fault_rows([f"{m} {i}" for i, m in enumerate(markers)]))
    run_id = store.create_run(db, "stop", {}, kind="generate", dataset_id=dataset_id)
    items = [PassItem(e) for e in store.load_examples(db, dataset_id, "train")]
    report = run_teacher_pass(db, make_teacher(config), items,
                              PassOptions(run_id=run_id, abandon_in_flight=abandon),
                              should_stop=lambda: store.teacher_yield(db, run_id, 1)[1] >= 3)
    rows = store.rationales_for_iteration(db, run_id, 1)
    assert report.stopped and report.rows == len(rows)
    assert store.cache_size(db) == len(rows)  # every finished call is stored, none half-written
    assert len(rows) == (3 if abandon else 4)  # the slow call: cancelled, or finished and stored
    assert ("[slow]" in store.get_example(db, rows[-1].example_id).question) is not abandon
    assert fault_server.total == 4  # no call started after the stop
    assert report.not_started == (7 if abandon else 6)
    events = store.events_since(db, run_id, kinds=("progress",))
    assert events[-1].done == len(rows) and events[-1].total == 10

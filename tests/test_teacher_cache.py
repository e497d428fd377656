"""The teacher-call cache: a call is never paid twice, across kill -9, re-runs and runs.

The kill test runs `undo-tui generate` in a subprocess against a loopback server that counts
requests, SIGKILLs it part-way, and re-runs it: exactly the missing rows are asked for again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import store
from engine.generation import PassItem, PassOptions, run_teacher_pass
from engine.teachers import make_teacher
from tests.fixtures.teacher_fixtures import ROOT, add_dataset, fault_rows, subprocess_env
from undo_tui.cli import main


def _generate_args(store_path, server, *extra):
    return ["--store", str(store_path), "generate", "--dataset", "faults",
            "--teacher-backend", "openai", "--model", "fault-model", "--base-url", server.url,
            "--concurrency", "2", *extra]


def _row_counts(store_path):
    db = store.connect(store_path)
    try:
        rows = db.execute("SELECT count(*), count(DISTINCT example_id) FROM rationales").fetchone()
        cached = db.execute("SELECT count(*) FROM teacher_cache").fetchone()[0]
        return rows[0], rows[1], cached
    finally:
        db.close()


def kill_generate_after(db, store_path, server, n: int, rows: int, delay_s: float) -> None:
    """Dataset 'faults' of n good questions; `undo-tui generate` over it in a child process
    (each answer held `delay_s`), SIGKILLed once `rows` rationales are stored."""
    add_dataset(db, "faults", fault_rows([f"[ok] {i}" for i in range(n)]))
    server.delay_s = delay_s
    proc = subprocess.Popen([sys.executable, "-m", "undo_tui.cli",
                             *_generate_args(store_path, server)],
                            cwd=ROOT, env=subprocess_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _row_counts(store_path)[0] < rows:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the pass never got going"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_sigkill_midway_then_rerun_asks_only_for_the_missing_rows(db, store_path, fault_server,
                                                                  capsys):
    n = 24
    kill_generate_after(db, store_path, fault_server, n, 6, delay_s=0.15)
    rows, distinct, cached = _row_counts(store_path)
    assert 6 <= rows < n, "killed too late to test a resume"
    assert rows == distinct == cached  # each finished call: its cache row and rationale, once
    before = fault_server.total

    assert main(_generate_args(store_path, fault_server)) == 0
    out = capsys.readouterr().out
    assert fault_server.total - before == n - rows  # only the missing calls reached the server
    assert f"calls made: {n - rows}, served from cache: {rows}" in out
    assert _row_counts(store_path) == (n, n, n)  # complete, no duplicates
    run = store.list_runs(db)[0].run
    assert run.status == "finished" and len(store.list_runs(db)) == 1
    stored = store.rationales_for_iteration(db, run.id, 1)
    assert all(r.status == "ok" and r.kept for r in stored)

    assert main(_generate_args(store_path, fault_server)) == 0  # a second identical pass
    assert f"calls made: 0, served from cache: {n}" in capsys.readouterr().out
    assert main(_generate_args(store_path, fault_server, "--run-name", "other")) == 0
    assert f"calls made: 0, served from cache: {n}" in capsys.readouterr().out
    assert fault_server.total - before == n - rows
    assert len(store.rationales_for_iteration(db, store.list_runs(db)[0].run.id, 1)) == n


def test_identical_calls_from_another_run_are_served_from_the_cache(db, fault_server,
                                                                    fault_teacher_config):
    dataset_id = add_dataset(db, "faults", fault_rows(["[ok] a", "[ok] b", "[ok] c"]))
    items = [PassItem(e) for e in store.load_examples(db, dataset_id, "train")]
    teacher = make_teacher(fault_teacher_config)
    first = store.create_run(db, "first", {}, kind="generate", dataset_id=dataset_id)
    second = store.create_run(db, "second", {}, kind="generate", dataset_id=dataset_id)
    a = run_teacher_pass(db, teacher, items, PassOptions(run_id=first))
    b = run_teacher_pass(db, teacher, items, PassOptions(run_id=second))
    assert (a.calls_made, a.cache_hits, b.calls_made, b.cache_hits) == (3, 0, 0, 3)
    assert fault_server.total == 3
    assert store.get_iteration(db, first, 1).teacher_calls == 3
    assert store.get_iteration(db, second, 1).teacher_calls == 0  # cache hits are not paid
    rows_a = store.rationales_for_iteration(db, first, 1)
    rows_b = store.rationales_for_iteration(db, second, 1)
    assert [r.cache_key for r in rows_a] == [r.cache_key for r in rows_b]
    assert [r.text for r in rows_a] == [r.text for r in rows_b]


def test_changed_sampling_params_are_a_different_call(db, fault_server, fault_teacher_config):
    dataset_id = add_dataset(db, "faults", fault_rows(["[ok] a"]))
    items = [PassItem(e) for e in store.load_examples(db, dataset_id, "train")]
    run_id = store.create_run(db, "r", {}, kind="generate", dataset_id=dataset_id)
    run_teacher_pass(db, make_teacher(fault_teacher_config), items, PassOptions(run_id=run_id))
    fault_teacher_config.max_tokens = 65
    other = store.create_run(db, "r2", {}, kind="generate", dataset_id=dataset_id)
    report = run_teacher_pass(db, make_teacher(fault_teacher_config), items,
                              PassOptions(run_id=other))
    assert report.calls_made == 1 and fault_server.total == 2 and store.cache_size(db) == 2


def test_duplicate_questions_in_one_pass_cost_one_call(db, fault_server, fault_teacher_config):
    rows = fault_rows(["[ok] same", "[ok] same", "[ok] other"])
    rows[1]["question"] = rows[0]["question"]
    dataset_id = add_dataset(db, "faults", rows)
    run_id = store.create_run(db, "dups", {}, kind="generate", dataset_id=dataset_id)
    items = [PassItem(e) for e in store.load_examples(db, dataset_id, "train")]
    report = run_teacher_pass(db, make_teacher(fault_teacher_config), items,
                              PassOptions(run_id=run_id))
    assert fault_server.total == 2 and report.calls_made == 2
    assert report.rows == 3 and report.cache_hits == 1
    assert len(store.rationales_for_iteration(db, run_id, 1)) == 3
    assert store.get_iteration(db, run_id, 1).teacher_calls == 2


def test_a_pass_in_small_chunks_stores_everything_once(db, fault_server, fault_teacher_config):
    markers = ["[ok] a", "[wrongx1] b", "[ok] c", "[ans=9] d", "[ok] e"]
    dataset_id = add_dataset(db, "faults", fault_rows(markers))
    run_id = store.create_run(db, "chunks", {}, kind="generate", dataset_id=dataset_id)
    items = [PassItem(e) for e in store.load_examples(db, dataset_id, "train")]
    report = run_teacher_pass(db, make_teacher(fault_teacher_config), items,
                              PassOptions(run_id=run_id, keep="retry", retries=1, chunk_size=2))
    # round 0: 5 calls in chunks of 2; round 1: the two unkept examples again
    assert fault_server.total == report.calls_made == 7
    assert (report.kept, report.attempted, report.rows) == (4, 5, 7)
    assert len(store.rationales_for_iteration(db, run_id, 1)) == 7

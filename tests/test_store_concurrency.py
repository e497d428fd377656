"""One engine process writes while the TUI reads (and writes small things): never 'locked'."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import store

ROOT = Path(__file__).resolve().parents[1]

WRITER = """
import sys, time
import store
db = store.open_store(sys.argv[1])
run_id, seconds, batch = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
examples = [r[0] for r in db.execute("SELECT id FROM examples ORDER BY id")]
end = time.time() + seconds
k = 0
print("ready", flush=True)
while time.time() < end:
    k += 1
    with store.write(db):
        store.add_predictions(db, [store.NewPrediction(run_id, k, "val", e, "Answer: 1", k % 2 == 0)
                                   for e in examples[:batch]])
        store.upsert_iteration(db, run_id, k, val_accuracy=(k % 2) * 1.0)
    store.add_event(db, run_id, "progress", stage="evaluate", done=k, total=0)
print("wrote", k, flush=True)
"""


def _start_writer(store_path: Path, run_id: int, seconds: float, batch: int):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(store_path), str(run_id),
                             str(seconds), str(batch)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc


def _dataset_with_run(db, n=200):
    dataset_id = store.get_or_create_dataset(db, "c", "number")
    store.add_examples(db, dataset_id, [dict(ext_id=str(i), split="val", question=f"q{i}",
                                             answer="1") for i in range(n)])
    return store.create_run(db, "busy", {}, dataset_id=dataset_id)


def test_reader_never_sees_locked_while_another_process_writes(store_path, db):
    run_id = _dataset_with_run(db)
    writer = _start_writer(store_path, run_id, seconds=3.0, batch=200)
    reads, writes, seen_iterations = 0, 0, set()
    reader = store.open_store(store_path)  # a second connection, as the TUI has
    while writer.poll() is None:
        summary = store.list_runs(reader)[0]
        iterations = store.list_iterations(reader, run_id)
        if iterations:
            last = iterations[-1].k
            scored = store.score(reader, run_id, last, "val")
            # a reader sees whole transactions: an iteration row comes with all its predictions
            assert scored.total == 200, (last, scored)
            seen_iterations.add(last)
        store.latest_progress(reader, run_id)
        reads += 1
        if reads % 20 == 0:  # the TUI also writes small things while the engine writes
            store.add_tag(reader, 1, f"t{reads}")
            writes += 1
        assert summary.run.id == run_id
    out, err = writer.communicate(timeout=30)
    assert writer.returncode == 0, err
    assert reads > 50 and writes > 2 and len(seen_iterations) > 3
    assert int(out.split()[-1]) == len(store.list_iterations(reader, run_id))
    reader.close()


def test_kill_9_mid_write_leaves_a_consistent_store(store_path, db):
    run_id = _dataset_with_run(db, n=2000)
    writer = _start_writer(store_path, run_id, seconds=30.0, batch=2000)
    watcher = store.open_store(store_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and watcher.execute(  # the writer is in its stride
            "SELECT count(*) FROM iterations WHERE run_id = ?", [run_id]).fetchone()[0] < 2:
        time.sleep(0.01)
    watcher.close()
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=10)
    after = store.open_store(store_path)
    assert after.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    counts = after.execute("SELECT iteration, count(*) FROM predictions GROUP BY iteration"
                           ).fetchall()
    assert counts, "the writer should have committed something before the kill"
    assert all(n == 2000 for _, n in counts), counts  # no half-written transaction survives
    assert {k for k, _ in counts} == {i.k for i in store.list_iterations(after, run_id)}
    after.close()

"""Resume cost: a teacher pass killed with SIGKILL at about half way, then run again.

The product's own path end to end: `undo-tui generate` in a child process against the loopback
OpenAI-compatible server of bench_teacher (fixed latency, at most C requests served at once, and
a count of the requests that reached it). Three passes over the same examples:

1. reference: an uninterrupted pass on its own store (its wall time is the "whole pass");
2. killed: the same command on a second store, SIGKILLed once about half the rows are stored;
3. resumed: the same command again on the second store.

Figures: calls the resumed pass made / calls that were missing (target exactly 1.0: a call is
never paid twice and nothing is skipped); its wall time against the reference's wall time times
the missing share (ideal ~1.0: the finished half costs nothing but cache look-ups); and the
requests that reached the server in all against the examples (the few in flight at the kill are
the only calls paid twice).

Run: `python -m benchmarks.bench_resume [--quick]`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_teacher import LatencyServer
from benchmarks.report import Figure, emit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATASET = "resume-bench"
SUMMARY = re.compile(r"calls made: (\d+), served from cache: (\d+)")


@dataclass
class PassRun:
    """One `undo-tui generate` process as seen from outside."""
    process_s: float  # wall time of the whole process (start-up included)
    pass_s: float | None  # the pass's own wall time, as the store recorded it
    calls_made: int | None
    cache_hits: int | None
    requests: int  # requests that reached the server while it ran


def make_store(path: Path, n: int) -> None:
    """A store holding `n` distinct questions (the fixture of the data, not what is measured)."""
    import store

    db = store.open_store(path)
    try:
        dataset = store.get_or_create_dataset(db, DATASET, "number", "benchmark")
        store.add_examples(db, dataset, [
            dict(ext_id=str(i), split="train", answer="5",
                 question=f"Problem {i}: Tom has 2 apples and gets 3 more. How many?")
            for i in range(n)])
    finally:
        db.close()


def command(store_path: Path, url: str, concurrency: int) -> list[str]:
    return [sys.executable, "-m", "undo_tui.cli", "--store", str(store_path), "generate",
            "--dataset", DATASET, "--teacher-backend", "openai", "--model", "bench",
            "--base-url", url, "--concurrency", str(concurrency), "--keep", "all"]


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


def run_to_end(cmd: list[str], store_path: Path, server: LatencyServer) -> PassRun:
    before, started = server.requests, time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=child_env(), capture_output=True, text=True,
                          timeout=900)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:5])} failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = SUMMARY.search(done.stdout)
    return PassRun(seconds, pass_seconds(store_path), int(summary[1]) if summary else None,
                   int(summary[2]) if summary else None, server.requests - before)


def pass_seconds(store_path: Path) -> float | None:
    """The iteration's recorded wall time: the sum over passes that finished. A SIGKILLed pass
    records none, so on the resumed store this is the resumed pass alone (ms precision, unlike
    the command's printed summary)."""
    import store

    db = store.connect(store_path)
    try:
        (run_id,) = db.execute("SELECT id FROM runs").fetchone()
        return store.get_iteration(db, run_id, 1).wall_seconds
    finally:
        db.close()


def stored_rows(store_path: Path) -> int:
    """Rationales committed so far (read through a second connection while the child writes)."""
    import store

    db = store.connect(store_path)
    try:
        return db.execute("SELECT count(*) FROM rationales").fetchone()[0]
    finally:
        db.close()


def kill_at(cmd: list[str], store_path: Path, rows: int, server: LatencyServer) -> tuple[int, int]:
    """Start the pass, SIGKILL it once `rows` rationales are stored; (rows stored, requests)."""
    before = server.requests
    child = subprocess.Popen(cmd, cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    try:
        while stored_rows(store_path) < rows:
            if child.poll() is not None:
                raise RuntimeError(f"the pass ended before the kill: {child.stderr.read()[-2000:]!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the pass never got half way")
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
        child.stderr.close()
    return stored_rows(store_path), server.requests - before


def run(quick: bool) -> list[Figure]:
    n, concurrency, latency = (48, 8, 0.1) if quick else (400, 8, 0.2)
    with tempfile.TemporaryDirectory(prefix="bench-resume-") as tmp, \
            LatencyServer(latency, concurrency) as server:
        reference_store, resumed_store = Path(tmp) / "reference.db", Path(tmp) / "resumed.db"
        for path in (reference_store, resumed_store):
            make_store(path, n)
        whole = run_to_end(command(reference_store, server.url, concurrency), reference_store,
                           server)
        if whole.calls_made != n:
            raise AssertionError(f"reference pass made {whole.calls_made} calls, expected {n}")
        cmd = command(resumed_store, server.url, concurrency)
        kept, killed_requests = kill_at(cmd, resumed_store, n // 2, server)
        resumed = run_to_end(cmd, resumed_store, server)
        return figures(n, concurrency, latency, whole, kept, killed_requests, resumed,
                       stored_rows(resumed_store))


def figures(n, concurrency, latency, whole: PassRun, kept: int, killed_requests: int,
            resumed: PassRun, final_rows: int) -> list[Figure]:
    missing = n - kept
    share = missing / n
    setting = (f"{n} examples, C={concurrency}, {latency * 1000:.0f} ms/request, killed with "
               f"{kept} stored")
    if final_rows != n:
        raise AssertionError(f"after the resume {final_rows} of {n} rows are stored")
    out = [emit(Figure("resume_calls_made_vs_missing", resumed.requests, "calls", missing,
                       f"{setting}; server-counted; command said calls made: "
                       f"{resumed.calls_made}, from cache: {resumed.cache_hits}; target 1.0x"))]
    if resumed.pass_s is not None and whole.pass_s is not None:
        out.append(emit(Figure("resume_pass_wall_vs_remaining_share", resumed.pass_s, "s",
                               whole.pass_s * share,
                               f"baseline = uninterrupted pass {whole.pass_s:.2f} s x missing "
                               f"share {share:.2f}; ideal ~1x")))
    out.append(emit(Figure("resume_process_wall_vs_remaining_share", resumed.process_s, "s",
                           whole.process_s * share,
                           f"whole `undo-tui generate` process, start-up included "
                           f"(uninterrupted: {whole.process_s:.2f} s)")))
    total = killed_requests + resumed.requests
    out.append(emit(Figure("resume_total_requests_vs_examples", total, "calls", n,
                           f"requests in flight at the SIGKILL are paid twice: "
                           f"{total - n} (at most C={concurrency})")))
    return out


if __name__ == "__main__":
    run(quick="--quick" in sys.argv[1:])

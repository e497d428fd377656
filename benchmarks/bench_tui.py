"""TUI responsiveness on a big store: 100k examples x 4 iterations (~1M rationales + predictions).

Builds the store through the store API in bulk, then drives the real app headless with Pilot and
measures wall time from a key press to the screen showing the new rows:

- first paint: App start until the runs table has rows (target < 1 s)
- opening the errors browser, paging (next page, last page), filtering by status, FTS search,
  moving the cursor (target < 100 ms each)

Baselines are the naive ways to do the same: load every row of the filter into a DataTable, and
search with LIKE '%word%' over questions and rationale text. Quick mode uses 5k examples.

    python -m benchmarks.bench_tui [--quick]
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import Figure, emit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import store  # noqa: E402
from store import browse  # noqa: E402
from store.predictions import NewPrediction  # noqa: E402
from store.rationales import NewRationale  # noqa: E402

NAMES = ["Tom", "Ann", "Raj", "Mia", "Olu", "Kim", "Lee", "Sam", "Ada", "Bo", "Eve", "Ian",
         "Noor", "Ravi", "Lena", "Omar"]
OBJECTS = ["apples", "pencils", "marbles", "stickers", "books", "coins", "cookies", "cards",
           "shells", "stamps"]
RARE = "Zelda"  # about 1 question in 1000
LEVELS = [0.15, 0.35, 0.45, 0.5, 0.52]  # accuracy by iteration 0..4 (0 = base student)
BATCH = 20_000


def _question(rng: random.Random, i: int) -> tuple[str, int]:
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    name = RARE if i % 1000 == 7 else rng.choice(NAMES)
    return (f"{name} has {a} {rng.choice(OBJECTS)} and gets {b} more from a friend. "
            f"How many does {name} have now?", a + b)


def build_store(path: Path, n_examples: int, iterations: int = 4, seed: int = 0) -> dict:
    """A store like a long UNDO run's: rationales per iteration, predictions per evaluation."""
    rng = random.Random(seed)
    db = store.open_store(path)
    rows = 0
    try:
        dataset = store.get_or_create_dataset(db, "bench", "number", "synthetic")
        examples, answers = [], {}
        for i in range(n_examples):
            split = "train" if i < n_examples * 0.9 else ("val" if i < n_examples * 0.95
                                                          else "test")
            text, answer = _question(rng, i)
            examples.append(dict(ext_id=str(i), split=split, question=text, answer=str(answer)))
        for start in range(0, len(examples), BATCH):
            rows += store.add_examples(db, dataset, examples[start:start + BATCH])
        stored = db.execute("SELECT id, split, answer FROM examples WHERE dataset_id = ? "
                            "ORDER BY id", [dataset]).fetchall()
        run = store.create_run(db, "bench-undo", {}, dataset_id=dataset, teacher="bench-teacher",
                               student="bench-student")
        difficulty = {eid: rng.random() for eid, _, _ in stored}
        for k in range(iterations + 1):
            level = LEVELS[min(k, len(LEVELS) - 1)]
            batch = []
            for eid, split, answer in stored:
                right = difficulty[eid] < level + rng.uniform(-0.1, 0.1)
                given = answer if right else str(int(answer) + rng.randint(1, 9))
                batch.append(NewPrediction(run, k, split, eid, f"Let me add.\nAnswer: {given}",
                                           right, answer=given, has_answer_line=k > 0 or right))
                if len(batch) == BATCH:
                    rows += store.add_predictions(db, batch)
                    batch = []
            rows += store.add_predictions(db, batch)
            if k == 0:
                continue
            batch = []
            for eid, split, answer in stored:
                name, obj = rng.choice(NAMES), rng.choice(OBJECTS)
                source = "teacher_initial" if k == 1 else "teacher_refined"
                text = (f"Step 1: {name} starts with some {obj}. Step 2: add what the friend "
                        f"gives. Iteration {k} explanation. Answer: {answer}")
                batch.append(NewRationale(eid, run, k, source, text, answer=answer, correct=True,
                                          kept=True))
                if len(batch) == BATCH:
                    rows += store.add_rationales(db, batch)
                    batch = []
            rows += store.add_rationales(db, batch)
            store.upsert_iteration(db, run, k, status="done", val_accuracy=level)
        store.upsert_iteration(db, run, 0, status="done", val_accuracy=LEVELS[0])
        store.update_run(db, run, status="finished")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return {"run": run, "rows": rows, "iterations": iterations}


async def _until(pilot, predicate, timeout: float = 60.0) -> float:
    started = time.perf_counter()
    while True:
        try:
            if predicate():
                break
        except Exception:  # a screen still composing
            pass
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(0.001)
    return time.perf_counter() - started


def send_key(pilot, key: str) -> None:
    """Deliver a key exactly as Pilot.press does, without Pilot's wait for the app to go idle.

    pilot.press returns only after every worker (the row count too) has finished and the screen
    has settled, which is not what a user waits for; the clock here stops when the rows a user
    asked for are in the table (the terminal repaints on the next refresh tick, <= 1/60 s).
    """
    import unicodedata

    from textual import events
    from textual.app import _get_unicode_name_from_key
    from textual.keys import REPLACED_KEYS, _character_to_key

    app = pilot.app
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    original = REPLACED_KEYS.get(key, key)
    try:
        char = unicodedata.lookup(_get_unicode_name_from_key(original))
    except KeyError:
        char = key if len(key) == 1 else None
    event = events.Key(key, char)
    event.set_sender(app)
    app._driver.send_message(event)


async def _measure_app(path: Path, run_id: int, k: int) -> dict:
    from undo_tui.app import UndoApp

    out: dict = {}
    started = time.perf_counter()
    app = UndoApp(path, poll_interval=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: type(app.screen).__name__ == "RunsScreen" and
                     app.screen.query_one("#runs-table").row_count > 0)
        out["first_paint_s"] = time.perf_counter() - started

        t0 = time.perf_counter()
        app.open_errors(run_id, split="train", iteration=k, status="wrong")
        await _until(pilot, lambda: type(app.screen).__name__ == "ErrorsScreen" and
                     app.screen.rows and app.screen.page_loads > 0)
        screen = app.screen
        out["open_errors_ms"] = (time.perf_counter() - t0) * 1000
        await _until(pilot, lambda: screen.total is not None)
        out["wrong_rows"] = screen.total
        table = screen.query_one("#errors-table")
        await pilot.pause(0.2)

        async def timed(key_or_action, done) -> float:
            t = time.perf_counter()
            if isinstance(key_or_action, str):
                send_key(pilot, key_or_action)
            else:
                key_or_action()
            await _until(pilot, done)
            elapsed = (time.perf_counter() - t) * 1000
            await app.workers.wait_for_complete()
            await pilot.pause(0.05)
            return elapsed

        floor = []
        for _ in range(5):
            t = time.perf_counter()
            await pilot.press("z")  # bound to nothing: what pilot.press itself costs
            floor.append((time.perf_counter() - t) * 1000)
        out["pilot_floor_ms"] = sorted(floor)[2]

        moves = []
        for _ in range(21):
            row = table.cursor_row
            moves.append(await timed("j", lambda: table.cursor_row == row + 1))
        out["cursor_move_ms"] = sorted(moves)[len(moves) // 2]

        pages = []
        for _ in range(5):
            loads = screen.page_loads
            pages.append(await timed(lambda: table.move_cursor(row=table.row_count - 1,
                                                               animate=False),
                                     lambda: screen.page_loads > loads and not screen.loading))
        out["next_page_ms"] = sorted(pages)[len(pages) // 2]

        out["next_page_query_ms"] = screen.last_page_ms
        loads = screen.page_loads
        out["last_page_ms"] = await timed("G", lambda: screen.page_loads > loads and
                                          not screen.loading)
        out["last_page_query_ms"] = screen.last_page_ms
        loads = screen.page_loads
        out["first_page_ms"] = await timed("g", lambda: screen.page_loads > loads and
                                           not screen.loading)
        out["first_page_query_ms"] = screen.last_page_ms

        token = screen.token
        out["filter_fixed_ms"] = await timed("f", lambda: screen.token != token and
                                             screen.page_loads and not screen.loading)
        out["filter_fixed_query_ms"] = screen.last_page_ms
        await _until(pilot, lambda: screen.total is not None)
        out["fixed_rows"] = screen.total
        out["count_fixed_ms"] = screen.last_count_ms
        t = time.perf_counter()
        await pilot.press("f")
        out["pilot_press_filter_ms"] = (time.perf_counter() - t) * 1000
        await pilot.press("F")
        await app.workers.wait_for_complete()

        for label, word in (("search_common", "marbles"), ("search_rare", RARE)):
            await pilot.press("slash")
            screen.query_one("#search").value = word
            token = screen.token
            out[f"{label}_ms"] = await timed("enter", lambda: screen.token != token and
                                             not screen.loading)
            out[f"{label}_query_ms"] = screen.last_page_ms
            await _until(pilot, lambda: screen.total is not None)
            out[f"{label}_rows"] = screen.total
            out[f"{label}_count_ms"] = screen.last_count_ms
            out[f"{label}_word"] = word
    return out


async def _jump_end(table) -> None:
    table.move_cursor(row=table.row_count - 1, animate=False)


def _naive_fill_ms(path: Path, flt: browse.BrowseFilter) -> float:
    """Baseline: every row of the filter read and put into a DataTable, as a non-paged UI would."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    class Naive(App):
        def compose(self) -> ComposeResult:
            yield DataTable()

    async def go() -> float:
        app = Naive()
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.query_one(DataTable)
            table.add_columns("id", "ext id", "question", "gold", "student", "history")
            started = time.perf_counter()
            db = store.connect(path)
            try:
                rows = browse.browse_page(db, flt, limit=10 ** 9)
            finally:
                db.close()
            table.add_rows([(r.example_id, r.ext_id, r.question[:44], r.gold, r.answer,
                             " ".join("✓" if c else "✗" for _, c in r.history)) for r in rows])
            await pilot.pause()
            return (time.perf_counter() - started) * 1000

    return asyncio.run(go())


def _like_search_ms(path: Path, run_id: int, k: int, word: str) -> tuple[float, int]:
    """Baseline: the same search as a LIKE '%word%' scan over questions and rationale text."""
    db = store.connect(path)
    try:
        started = time.perf_counter()
        rows = db.execute(
            "SELECT p.example_id FROM predictions p JOIN examples e ON e.id = p.example_id "
            "WHERE p.run_id = ? AND p.split = 'train' AND p.iteration = ? AND p.correct = 1 "
            "AND p.example_id IN (SELECT q.example_id FROM predictions q WHERE q.run_id = ? "
            "AND q.split = 'train' AND q.iteration = ? AND q.correct = 0) "
            "AND (e.question LIKE ? OR EXISTS (SELECT 1 FROM rationales r WHERE "
            "r.example_id = p.example_id AND r.run_id = ? AND r.text LIKE ?)) "
            "ORDER BY p.example_id",
            [run_id, k, run_id, k - 1, f"%{word}%", run_id, f"%{word}%"]).fetchall()
        return (time.perf_counter() - started) * 1000, len(rows)
    finally:
        db.close()


def _process_first_paint_s(path: Path, tmp: str) -> float | None:
    """`undo-tui STORE` in a 120x40 tmux terminal until the runs table is on screen (cold start:
    interpreter, imports, store open, first paint). None without tmux."""
    import shutil
    import subprocess

    tmux = shutil.which("tmux")
    if tmux is None:
        return None
    socket = f"bench-tui-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
    env["UNDO_TUI_CONFIG"] = str(Path(tmp) / "no-keys.toml")

    def tmux_run(*args: str) -> str:
        return subprocess.run([tmux, "-L", socket, *args], capture_output=True, text=True,
                              env=env, timeout=30).stdout

    try:
        started = time.perf_counter()
        tmux_run("new-session", "-d", "-x", "120", "-y", "40", "-c", str(ROOT),
                 f"{sys.executable} -m undo_tui.cli {path}; sleep 30")
        while time.perf_counter() - started < 30:
            if "bench-undo" in tmux_run("capture-pane", "-p"):
                return time.perf_counter() - started
            time.sleep(0.01)
        return None
    finally:
        subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True, env=env,
                       timeout=30)


def run(quick: bool = False) -> list[Figure]:
    n = 5_000 if quick else 100_000
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-tui-") as tmp:
        path = Path(tmp) / "big.db"
        started = time.perf_counter()
        built = build_store(path, n)
        seconds = time.perf_counter() - started
        rows = built["rows"] + n
        figures.append(emit(Figure("tui.store_build_rows_per_s", rows / seconds, "rows/s",
                                   note=f"{rows:,} rows ({n:,} examples x 4 iterations, "
                                        f"rationales + predictions) in {seconds:.1f}s")))
        figures.append(emit(Figure("tui.store_file_size", path.stat().st_size / 1e6, "MB")))
        run_id, k = built["run"], built["iterations"]
        os.environ.setdefault("UNDO_TUI_CONFIG", str(Path(tmp) / "no-keys.toml"))
        app = asyncio.run(_measure_app(path, run_id, k))
        app_note = "key sent as Pilot sends it; clock stops when the rows are in the table"
        wrong = browse.BrowseFilter(run_id, "train", k, "wrong", previous=k - 1)
        fixed = wrong.with_(status="fixed")
        naive_wrong = _naive_fill_ms(path, wrong)
        naive_fixed = _naive_fill_ms(path, fixed)
        figures.append(emit(Figure("tui.first_paint", app["first_paint_s"], "s", 1.0,
                                   note="App start until the runs table has rows; baseline = "
                                        "the 1 s target")))
        process = _process_first_paint_s(path, tmp)
        if process is not None:
            figures.append(emit(Figure(
                "tui.process_first_paint", process, "s", 1.0,
                note="`undo-tui STORE` in tmux until the runs list shows: interpreter start, "
                     "imports (sqlite_utils pulls in pandas/numpy), store open, paint")))
        figures.append(emit(Figure("tui.errors_open", app["open_errors_ms"], "ms", naive_wrong,
                                   note=f"first page of {app['wrong_rows']:,} wrong rows; "
                                        "baseline = all rows into a DataTable")))
        figures.append(emit(Figure("tui.cursor_move", app["cursor_move_ms"], "ms", 100.0,
                                   note="j, median of 21; baseline = the 100 ms target")))
        figures.append(emit(Figure("tui.next_page", app["next_page_ms"], "ms", naive_wrong,
                                   note="cursor at the window's end until 200 more rows show")))
        figures.append(emit(Figure("tui.last_page", app["last_page_ms"], "ms", naive_wrong,
                                   note="G: the last page without reading those between")))
        figures.append(emit(Figure("tui.first_page", app["first_page_ms"], "ms", naive_wrong,
                                   note="g")))
        figures.append(emit(Figure("tui.filter_status_fixed", app["filter_fixed_ms"], "ms",
                                   naive_fixed, note=f"f: wrong -> fixed ({app['fixed_rows']:,}"
                                                     " rows), first page painted")))
        figures.append(emit(Figure("tui.count_fixed", app["count_fixed_ms"], "ms",
                                   note="row count query, arrives after the first page")))
        figures.append(emit(Figure(
            "tui.pilot_press_filter", app["pilot_press_filter_ms"], "ms", app["pilot_floor_ms"],
            note="the same filter key through pilot.press, which returns only when every worker "
                 "and repaint is done; baseline = pilot.press of an unbound key")))
        for label in ("search_common", "search_rare"):
            like_ms, like_rows = _like_search_ms(path, run_id, k, app[f"{label}_word"])
            figures.append(emit(Figure(
                f"tui.{label}", app[f"{label}_ms"], "ms", like_ms,
                note=f"FTS5 '{app[f'{label}_word']}' within fixed: {app[f'{label}_rows']:,} "
                     f"rows (count {app[f'{label}_count_ms']:.0f} ms); baseline = LIKE scan, "
                     f"{like_rows:,} rows")))
    return figures


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)

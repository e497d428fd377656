"""TUI responsiveness on a big store: 100k examples x 4 iterations (~1M rationales + predictions).

Builds the store through the store API in bulk, then drives the real app headless with Pilot and
measures wall time from a key press to the screen showing the new rows:

- first paint: App start until the runs table has rows (target < 1 s)
- opening the errors browser, paging (next page, last page), filtering by status, FTS search,
  moving the cursor (target < 100 ms each), each from an app that has finished starting up
  (its first idle moment, when the TUI also freezes start-up objects: undo_tui.gc_pacing)
- full garbage collections that ran inside those measured windows (count and longest)
- search twice: pasted and Enter at once (the page load makes the search ready itself), and
  typed at 8 keys/s with Enter 250 ms after the last key (a pause in typing prepares it)

Baselines are the naive ways to do the same: load every row of the filter into a DataTable, and
search with LIKE '%word%' over questions and rationale text. Quick mode uses 5k examples.

    python -m benchmarks.bench_tui [--quick]
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import Figure, emit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import store  # noqa: E402
from benchmarks.big_store import RARE, build_store  # noqa: E402
from store import browse  # noqa: E402

EVERYWHERE = "friend"  # in every question and every rationale: the biggest search there is
TYPING_S = 0.125  # 8 keys/s, a fast typist
ENTER_AFTER_S = 0.25  # from the last key to Enter


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


class FullCollections:
    """Full (generation-2) garbage collections that run while `measuring` is set."""

    def __init__(self) -> None:
        self.measuring = False
        self.pauses_ms: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif self.measuring:
            self.pauses_ms.append((time.perf_counter() - self._started) * 1000)


async def _measure_app(path: Path, run_id: int, k: int) -> dict:
    out: dict = {}
    collections = FullCollections()
    gc.callbacks.append(collections)
    try:
        return await _drive_app(path, run_id, k, out, collections)
    finally:
        gc.callbacks.remove(collections)
        out["gc_full_passes"] = len(collections.pauses_ms)
        out["gc_longest_ms"] = max(collections.pauses_ms, default=0.0)


async def _drive_app(path: Path, run_id: int, k: int, out: dict,
                     collections: FullCollections) -> dict:
    from undo_tui.app import UndoApp

    started = time.perf_counter()
    app = UndoApp(path, poll_interval=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: type(app.screen).__name__ == "RunsScreen" and
                     app.screen.query_one("#runs-table").row_count > 0)
        out["first_paint_s"] = time.perf_counter() - started
        # A person reads the screen before the first key: measure from the settled app.
        await _until(pilot, lambda: app.gc_pacer.active)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)

        t0 = time.perf_counter()
        collections.measuring = True
        # What the `e` key does, on the train split: the input is what a key press would tell
        # the GC pacer (it holds full collections back for a second after any key)
        app.gc_pacer.input_seen()
        app.open_errors(run_id, split="train", iteration=k, status="wrong")
        await _until(pilot, lambda: type(app.screen).__name__ == "ErrorsScreen" and
                     app.screen.browser.rows and app.screen.browser.page_loads > 0)
        collections.measuring = False
        screen = app.screen
        out["open_errors_ms"] = (time.perf_counter() - t0) * 1000
        await _until(pilot, lambda: screen.browser.total is not None)
        out["wrong_rows"] = screen.browser.total
        table = screen.query_one("#errors-table")
        await pilot.pause(0.2)

        async def timed(key_or_action, done) -> float:
            t = time.perf_counter()
            collections.measuring = True
            if isinstance(key_or_action, str):
                send_key(pilot, key_or_action)
            else:
                key_or_action()
            await _until(pilot, done)
            elapsed = (time.perf_counter() - t) * 1000
            collections.measuring = False
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
            loads = screen.browser.page_loads
            pages.append(await timed(lambda: table.move_cursor(row=table.row_count - 1,
                                                               animate=False),
                                     lambda: screen.browser.page_loads > loads and
                                             not screen.browser.fetching))
        out["next_page_ms"] = sorted(pages)[len(pages) // 2]

        out["next_page_query_ms"] = screen.browser.last_page_ms
        loads = screen.browser.page_loads
        out["last_page_ms"] = await timed("G", lambda: screen.browser.page_loads > loads and
                                          not screen.browser.fetching)
        out["last_page_query_ms"] = screen.browser.last_page_ms
        loads = screen.browser.page_loads
        out["first_page_ms"] = await timed("g", lambda: screen.browser.page_loads > loads and
                                           not screen.browser.fetching)
        out["first_page_query_ms"] = screen.browser.last_page_ms

        token = screen.browser.token
        out["filter_fixed_ms"] = await timed("f", lambda: screen.browser.token != token and
                                             screen.browser.page_loads and
                                                 not screen.browser.fetching)
        out["filter_fixed_query_ms"] = screen.browser.last_page_ms
        await _until(pilot, lambda: screen.browser.total is not None)
        out["fixed_rows"] = screen.browser.total
        out["count_fixed_ms"] = screen.browser.last_count_ms
        t = time.perf_counter()
        await pilot.press("f")
        out["pilot_press_filter_ms"] = (time.perf_counter() - t) * 1000
        await pilot.press("F")
        await app.workers.wait_for_complete()

        for label, word, typed in (("search_common", "marbles", False),
                                   ("search_rare", RARE, False),
                                   ("search_everywhere", EVERYWHERE, False),
                                   ("search_typed_common", "marbles", True),
                                   ("search_typed_everywhere", EVERYWHERE, True)):
            await pilot.press("slash")
            search = screen.query_one("#search")
            search.value = ""
            await pilot.pause(0.1)
            if typed:
                for char in word:
                    send_key(pilot, char)
                    await asyncio.sleep(TYPING_S)
                await asyncio.sleep(ENTER_AFTER_S)
            else:
                search.value = word  # pasted
            token = screen.browser.token
            out[f"{label}_ms"] = await timed("enter", lambda: screen.browser.token != token and
                                             not screen.browser.fetching)
            out[f"{label}_query_ms"] = screen.browser.last_page_ms
            await _until(pilot, lambda: screen.browser.total is not None)
            out[f"{label}_rows"] = screen.browser.total
            out[f"{label}_count_ms"] = screen.browser.last_count_ms
            out[f"{label}_word"] = word
            await pilot.press("c")  # back to the unsearched filter for the next one
            await app.workers.wait_for_complete()
            await pilot.press("f")
            await app.workers.wait_for_complete()
            await pilot.pause(0.1)
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
                     "imports, store open, paint")))
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
        for label in ("search_common", "search_rare", "search_everywhere",
                      "search_typed_common", "search_typed_everywhere"):
            like_ms, like_rows = _like_search_ms(path, run_id, k, app[f"{label}_word"])
            how = ("typed at 8 keys/s, Enter 250 ms after the last key" if "typed" in label
                   else "pasted, Enter at once")
            figures.append(emit(Figure(
                f"tui.{label}", app[f"{label}_ms"], "ms", like_ms,
                note=f"FTS5 '{app[f'{label}_word']}' within fixed, {how}: "
                     f"{app[f'{label}_rows']:,} rows (count {app[f'{label}_count_ms']:.0f} ms); "
                     f"baseline = LIKE scan, {like_rows:,} rows")))
        figures.append(emit(Figure(
            "tui.gc_full_passes_in_interactions", app["gc_full_passes"], "passes",
            note=f"full garbage collections inside the measured windows above; longest "
                 f"{app['gc_longest_ms']:.0f} ms (the TUI runs them when idle: "
                 "undo_tui.gc_pacing)")))
    return figures


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)

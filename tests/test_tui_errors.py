"""Errors browser: filters by status across iterations, split, tag and FTS search; paging; exclude."""

from __future__ import annotations

import pytest

import store
from store.predictions import NewPrediction
from tests.fixtures.tui_fixtures import (TRAIN_PATTERNS, VAL_PATTERNS, screen_named, settle,
                                         wait_for, wait_notified)
from undo_tui.app import UndoApp
from undo_tui.widgets import errors_browser

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tui_env")]


async def open_errors(app, pilot, run_id, **wanted):
    await wait_for(pilot, lambda: screen_named(app, "RunsScreen") and app.screen.data)
    app.open_errors(run_id, **wanted)
    screen = await wait_for(pilot, lambda: screen_named(app, "ErrorsScreen"))
    await wait_for(pilot, lambda: screen.flt is not None and not screen.browser.fetching and
                   screen.browser.total is not None, what="first page and count")
    return screen


def ids_shown(screen):
    table = screen.query_one("#errors-table")
    return [int(str(table.get_row_at(i)[0])) for i in range(table.row_count)]


def where(patterns, ids, predicate):
    return [i for i, p in zip(ids, patterns) if predicate(p)]


async def until_loaded(pilot, screen, token=None):
    await wait_for(pilot, lambda: not screen.browser.fetching and
                                  screen.browser.total is not None and
                   (token is None or screen.browser.token != token), what="filter applied")
    await settle(pilot)


async def test_default_is_wrong_at_the_latest_iteration_on_val(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"])
        assert (screen.flt.split, screen.flt.iteration, screen.flt.status) == ("val", 3, "wrong")
        assert ids_shown(screen) == where(VAL_PATTERNS, ids["val_ids"], lambda p: p[3] == "0")
        status = str(screen.query_one("#browse-status").render())
        assert "val · iteration 3 · wrong at k" in status and "row 1 of 4" in status
        table = screen.query_one("#errors-table")
        first = table.get_row_at(0)
        assert str(first[3]) == "✗ ✗ ✓ ✗"  # history across iterations 0..3 (VAL_PATTERNS[4])
        assert str(first[2]) == "✗ 20" and str(first[5]) == "19"  # student's answer, gold


async def test_status_iteration_and_split_keys(tui_store):
    path, ids = tui_store
    val, train = ids["val_ids"], ids["train_ids"]
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"])
        await pilot.press("f")
        await until_loaded(pilot, screen)
        assert screen.flt.status == "fixed"
        assert ids_shown(screen) == where(VAL_PATTERNS, val, lambda p: p[2:4] == "01")
        assert "vs 2" in str(screen.query_one("#browse-status").render())
        await pilot.press("f")
        await until_loaded(pilot, screen)
        assert ids_shown(screen) == where(VAL_PATTERNS, val, lambda p: p[2:4] == "10")
        await pilot.press("f")
        await until_loaded(pilot, screen)
        assert screen.flt.status == "still_wrong"
        assert ids_shown(screen) == where(VAL_PATTERNS, val, lambda p: p[2:4] == "00")
        await pilot.press("F", "F")
        await until_loaded(pilot, screen)
        assert screen.flt.status == "fixed"
        await pilot.press("left_square_bracket")  # iteration 2, compared with 1
        await until_loaded(pilot, screen)
        assert screen.flt.iteration == 2 and screen.flt.previous == 1
        assert ids_shown(screen) == where(VAL_PATTERNS, val, lambda p: p[1:3] == "01")
        await pilot.press("s")  # train split, same iteration and status
        await until_loaded(pilot, screen)
        assert screen.flt.split == "train" and screen.flt.iteration == 2
        assert ids_shown(screen) == where(TRAIN_PATTERNS, train, lambda p: p[1:3] == "01")
        # the filter bar follows the keys
        assert screen.query_one("#split-select").value == "train"
        assert screen.query_one("#iteration-select").value == 2
        assert screen.query_one("#status-select").value == "fixed"


async def test_choosing_in_the_filter_bar_applies_the_filter(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"])
        token = screen.browser.token
        screen.query_one("#status-select").value = "always_right"  # as a mouse choice would
        await until_loaded(pilot, screen, token)
        assert screen.flt.status == "always_right"
        assert ids_shown(screen) == where(VAL_PATTERNS, ids["val_ids"], lambda p: p == "1111")
        await pilot.click("#iteration-select")
        await pilot.pause(0.2)


async def test_refresh_picks_up_a_new_evaluation(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"], status="fixed")
        db = store.open_store(path)  # the engine evaluates iteration 4 meanwhile
        store.add_predictions(db, [NewPrediction(ids["run"], 4, "val", e, "Answer: 0", True)
                                   for e in ids["val_ids"]])
        db.close()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.options.iterations["val"] == [0, 1, 2, 3, 4])
        await until_loaded(pilot, screen)
        assert screen.flt.status == "fixed" and screen.flt.iteration == 3  # kept where it was
        await pilot.press("right_square_bracket")
        await until_loaded(pilot, screen)
        assert screen.flt.iteration == 4
        assert ids_shown(screen) == where(VAL_PATTERNS, ids["val_ids"], lambda p: p[3] == "0")


async def test_first_iteration_has_nothing_to_compare_with(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"], iteration=0, status="fixed")
        assert ids_shown(screen) == []
        assert "nothing to compare" in str(screen.query_one("#browse-status").render())


async def test_tag_filter_and_clear(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"], split="train", status="all")
        await pilot.press("t")
        dialog = await wait_for(pilot, lambda: screen_named(app, "InputDialog"))
        assert "carry (2)" in str(dialog.query(".dialog-body").first().render())
        await pilot.press(*"carry", "enter")
        await until_loaded(pilot, screen)
        assert screen.flt.tag == "carry"
        assert ids_shown(screen) == [ids["train_ids"][0], ids["train_ids"][3]]
        await pilot.press("c")
        await until_loaded(pilot, screen)
        assert screen.flt.tag is None and screen.flt.status == "wrong"


async def test_search_filters_by_question_and_rationale_text_and_n_moves(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"], split="train", status="all")
        await pilot.press("n")  # no search yet
        await wait_notified(pilot, "No search")
        await pilot.press("slash")
        assert screen.query_one("#search").has_focus
        await pilot.press(*"Raj", "enter")
        await until_loaded(pilot, screen)
        assert screen.flt.search == "Raj"
        assert ids_shown(screen) == [ids["train_ids"][2]]
        assert screen.query_one("#errors-table").has_focus
        # a word that only the teacher's refined rationales contain
        await pilot.press("slash")
        screen.query_one("#search").value = ""
        await pilot.press(*"Buying", "enter")
        await until_loaded(pilot, screen)
        assert ids_shown(screen) == ids["train_ids"]
        table = screen.query_one("#errors-table")
        await pilot.press("n", "n")
        assert table.cursor_row == 2
        await pilot.press("N")
        assert table.cursor_row == 1
        # escape leaves the search box, then the screen
        await pilot.press("slash", "escape")
        assert table.has_focus and app.screen is screen
        await pilot.press("escape")
        assert app.screen is not screen


async def test_x_excludes_the_highlighted_example(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"])
        example = ids_shown(screen)[1]
        await pilot.press("j", "x")
        await wait_for(pilot, lambda: screen.browser.rows[1].excluded, what="exclusion shown")
        table = screen.query_one("#errors-table")
        assert str(table.get_cell(str(example), "excluded")) == "excl"
        db = store.open_store(path)
        try:
            assert store.get_annotation(db, example).excluded
        finally:
            db.close()
        await pilot.press("x")
        await wait_for(pilot, lambda: not screen.browser.rows[1].excluded, what="inclusion shown")


# -- paging on a store larger than a page ---------------------------------------------------------

WRONG_EVERY = 3  # example i is right at iteration 1 when i % 3 == 0


@pytest.fixture
def paged_store(tmp_path):
    path = tmp_path / "paged.db"
    db = store.open_store(path)
    dataset = store.get_or_create_dataset(db, "paged", "number")
    store.add_examples(db, dataset, [dict(ext_id=str(i), split="val", question=f"question {i}",
                                          answer=str(i)) for i in range(2400)])
    examples = store.load_examples(db, dataset, "val")
    run = store.create_run(db, "paged", {}, dataset_id=dataset)
    store.add_predictions(db, [NewPrediction(run, k, "val", e.id, "out", correct=(
        k == 1 and i % WRONG_EVERY == 0)) for k in (0, 1) for i, e in enumerate(examples)])
    store.upsert_iteration(db, run, 1, status="done")
    db.close()
    wrong = [e.id for i, e in enumerate(examples) if i % WRONG_EVERY != 0]
    return path, run, wrong


async def test_pages_load_as_the_cursor_moves_and_g_G_jump(paged_store, monkeypatch):
    monkeypatch.setattr(errors_browser, "MAX_WINDOW", 600)
    path, run, wrong = paged_store
    assert len(wrong) == 1600
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, run)
        table = screen.query_one("#errors-table")
        assert screen.browser.total == 1600 and ids_shown(screen) == wrong[:200]
        # walking down fetches the next pages; the window is capped and slides
        for _ in range(5):
            loads = screen.browser.page_loads
            table.move_cursor(row=table.row_count - 1)
            await wait_for(pilot, lambda: screen.browser.page_loads > loads and
                                          not screen.browser.fetching)
        shown = ids_shown(screen)
        assert len(shown) == 600 and screen.browser.before == 600
        assert shown == wrong[600:1200]  # contiguous, in order, nothing skipped or doubled
        assert "row " in str(screen.query_one("#browse-status").render())
        # G: the last page, without reading what lies between
        await pilot.press("G")
        await wait_for(pilot, lambda: ids_shown(screen) == wrong[-200:], what="last page")
        assert table.cursor_row == 199
        await wait_for(pilot, lambda: "row 1,600 of 1,600" in
                       str(screen.query_one("#browse-status").render()))
        # moving up near the top of the window fetches the page before
        loads = screen.browser.page_loads
        table.move_cursor(row=5)
        await wait_for(pilot, lambda: screen.browser.page_loads > loads and
                                      not screen.browser.fetching)
        assert ids_shown(screen) == wrong[-400:]
        assert screen.browser.rows[table.cursor_row].example_id == wrong[-400 + 205]
        # g: back to the first page
        await pilot.press("g")
        await wait_for(pilot, lambda: ids_shown(screen) == wrong[:200], what="first page")
        assert table.cursor_row == 0
        # ctrl+d / ctrl+u move by half a screen
        await pilot.press("ctrl+d")
        half = table.cursor_row
        assert 5 <= half <= 30
        await pilot.press("ctrl+u")
        assert table.cursor_row == 0


def add_val_predictions(path, run, k, verdicts):
    """What a running evaluation writes: {example id: correct} at iteration k on val."""
    db = store.open_store(path)
    try:
        store.add_predictions(db, [NewPrediction(run, k, "val", e, f"Answer: {int(not ok)}", ok,
                                                 answer=str(int(not ok)))
                                   for e, ok in verdicts.items()])
    finally:
        db.close()


async def test_the_browser_follows_a_running_evaluation(tui_store):
    path, ids = tui_store
    live, val = ids["live"], ids["val_ids"]
    app = UndoApp(path, poll_interval=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: screen_named(app, "RunsScreen") and app.screen.data)
        app.open_errors(live)
        screen = await wait_for(pilot, lambda: screen_named(app, "ErrorsScreen"))
        await wait_for(pilot, lambda: screen.options is not None and
                                      screen.browser.marker is not None)
        assert screen.flt is None  # no predictions yet
        # the evaluation writes the odd examples first: every second one wrong
        add_val_predictions(path, live, 0, {e: i % 4 == 1 for i, e in enumerate(val) if i % 2})
        await wait_for(pilot, lambda: screen.flt is not None and ids_shown(screen) ==
                       [val[3], val[7]], what="first predictions shown")
        await pilot.press("j")
        table = screen.query_one("#errors-table")
        assert screen.browser.rows[table.cursor_row].example_id == val[7]
        # then the even ones, some before the highlighted row: the cursor stays on its example
        refreshes = screen.browser.refreshes
        add_val_predictions(path, live, 0, {e: i == 6 for i, e in enumerate(val) if i % 2 == 0})
        want = [val[0], val[2], val[3], val[4], val[7]]
        await wait_for(pilot, lambda: screen.browser.refreshes > refreshes and
                                      ids_shown(screen) == want,
                       what="new rows in place")
        await wait_for(pilot, lambda: screen.browser.total == 5, what="recounted")
        assert screen.browser.rows[table.cursor_row].example_id == val[7]
        assert (screen.flt.split, screen.flt.iteration, screen.flt.status) == ("val", 0, "wrong")
        assert "row 5 of 5" in str(screen.query_one("#browse-status").render())
        # the next iteration's first predictions: announced, history updated, filter kept
        add_val_predictions(path, live, 1, {val[7]: True})
        await wait_for(pilot, lambda: screen.options.iterations["val"] == [0, 1])
        await wait_for(pilot, lambda: str(table.get_row_at(table.cursor_row)[3]) == "✗ ✓")
        await wait_notified(pilot, "Iteration 1 has val predictions")
        assert screen.flt.iteration == 0 and ids_shown(screen) == want
        assert screen.browser.rows[table.cursor_row].example_id == val[7]


async def test_a_capped_search_count_shows_a_lower_bound(tui_store, monkeypatch):
    import store.search
    from store import browse

    monkeypatch.setattr(browse, "COUNT_READ_CAP", 4)
    monkeypatch.setattr(store.search, "SMALL_SEARCH", -1)  # the row-by-row probe
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"], split="train", status="all")
        await pilot.press("slash", *"Buying", "enter")
        await until_loaded(pilot, screen)
        assert ids_shown(screen) == ids["train_ids"]  # every row still listed
        assert screen.browser.total == 4 and not screen.browser.total_exact
        assert "row 1 of 4+" in str(screen.query_one("#browse-status").render())


async def test_a_pause_in_typing_makes_the_search_ready_for_enter(tui_store):
    """The search's TEMP tables are filled on the page connection before Enter (prefetch)."""
    from store import browse

    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"], split="train", status="all")
        await pilot.press("slash", *"Buying")
        await wait_for(pilot, lambda: "Buying" in screen.browser.prefetched, what="the prefetch")
        with screen.browser.shared.use() as db:
            held = db.execute("SELECT query FROM temp.undo_search_state").fetchone()[0]
        assert held == browse.fts_query("Buying")
        assert screen.flt.search is None  # nothing applied before Enter
        await pilot.press("enter")
        await until_loaded(pilot, screen)
        assert screen.flt.search == "Buying"
        assert ids_shown(screen) == ids["train_ids"]  # the refined rationales all say it
        # typing on after a pause replaces the prepared search; the page agrees with the store
        await pilot.press("slash")
        screen.query_one("#search").value = ""
        await pilot.press(*"Raj")
        await wait_for(pilot, lambda: screen.browser.prefetched[-1] == "Raj",
                       what="second prefetch")
        await pilot.press("enter")
        await until_loaded(pilot, screen)
        assert ids_shown(screen) == [ids["train_ids"][2]]


async def test_slash_focuses_the_search_and_a_reload_never_takes_it_away(tui_store):
    """Typing a search while filters reload (keys pressed fast, a live refresh) keeps the
    focus and the text in the search box: a reload neither covers the screen nor resets it."""
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"])
        await pilot.press("c", "s", "right_square_bracket", "right_square_bracket", "slash")
        search = screen.query_one("#search")
        assert app.focused is search
        await pilot.press("p", "l", "u")
        screen.action_cycle_status(1)  # what a refresh from a running run does meanwhile
        await until_loaded(pilot, screen)
        assert app.focused is search
        await pilot.press("m", "s")
        assert search.value == "plums"
        await pilot.press("slash")  # in the box, / is a character, not the search key
        assert search.value == "plums/" and app.focused is search
        await pilot.press("backspace")
        await pilot.press("enter")
        await until_loaded(pilot, screen)
        assert screen.flt.search == "plums" and screen.flt.status == "fixed"


async def test_iteration_keys_stop_at_the_ends_and_a_split_change_says_what_it_changed(
        tui_store):
    path, ids = tui_store
    db = store.open_store(path)  # train evaluated at 1 and 2 only (the loop's usual pattern)
    db.execute("DELETE FROM predictions WHERE run_id = ? AND split = 'train' AND iteration IN "
               "(0, 3)", [ids["run"]])
    db.conn.commit()
    db.close()
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"])
        assert (screen.flt.split, screen.flt.iteration) == ("val", 3)
        await pilot.press("right_square_bracket")
        await wait_notified(pilot, "iteration 3 is the last evaluated on val (iterations 0, 1, "
                                   "2, 3)")
        assert screen.flt.iteration == 3  # no wrap to 0
        await pilot.press("s")
        await wait_notified(pilot, "train has no predictions at iteration 3: showing iteration "
                                   "2 (evaluated on train: 1, 2)")
        await until_loaded(pilot, screen)
        assert (screen.flt.split, screen.flt.iteration) == ("train", 2)
        await pilot.press("left_square_bracket")
        await until_loaded(pilot, screen)
        await pilot.press("left_square_bracket")
        await wait_notified(pilot, "iteration 1 is the first evaluated on train")
        assert screen.flt.iteration == 1


async def test_the_footer_says_exclude_or_include_for_the_highlighted_example(tui_store):
    path, ids = tui_store
    app = UndoApp(path)

    def x_says():
        return app.screen.active_bindings["x"].binding.description

    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"])
        assert x_says() == "Excl"
        example = screen.browser.current_row().example_id
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.browser.current_row().excluded, what="excluded")
        await wait_for(pilot, lambda: x_says() == "Incl", what="footer follows")
        await pilot.press("enter")
        detail = await wait_for(pilot, lambda: (s := screen_named(app, "ExampleDetailScreen"))
                                and s.detail and s, what="detail")
        assert detail.example_id == example and x_says() == "Include"
        await pilot.press("x")
        await wait_for(pilot, lambda: not detail.detail.annotation.excluded, what="included")
        assert x_says() == "Exclude"


async def test_the_command_palette_lists_commands_not_widget_keys(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"])
        for focus in ("#errors-table", "#search"):
            screen.query_one(focus).focus()
            await pilot.pause()
            titles = [command.title for command in app.get_system_commands(screen)]
            assert "Errors browser: Refresh" in titles
            assert ("Errors browser: Search" in titles) == (focus == "#errors-table")
            raw = [t for t in titles if any(word in t for word in (
                "Cursor", "Copy selected", "Delete character", "First row", "Scroll"))]
            assert not raw, raw


async def test_columns_fit_the_terminal_and_long_ids_keep_the_part_that_differs(tui_store):
    path, ids = tui_store
    db = store.open_store(path)
    db.execute("UPDATE examples SET ext_id = 'gsm8k-main-test-' || printf('%05d', id) "
               "WHERE split = 'val'")
    db.conn.commit()
    db.close()
    app = UndoApp(path)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_errors(app, pilot, ids["run"])
        table = screen.query_one("#errors-table")
        first = screen.browser.rows[0]
        shown = [str(cell) for cell in table.get_row_at(0)]
        assert shown[1] == first.ext_id and shown[4] == first.question  # nothing cut at 160
        assert table.widths["question"] > 60  # the free width went to the question
        assert table.virtual_size.width == table.size.width - 2  # all of it, less the scrollbar
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: table.widths["question"] < 60, what="refit to 80")
        await settle(pilot)
        assert table.virtual_size.width <= table.size.width
        exts = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert len(set(exts)) == len(exts)  # still tells the rows apart
        for row, ext in zip(screen.browser.rows, exts):
            assert ext == row.ext_id or ("…" in ext and row.ext_id.endswith(ext.split("…")[1]))
        assert any("…" in ext for ext in exts)

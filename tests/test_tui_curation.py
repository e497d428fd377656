"""The TUI on carried-over curation: a new run on the dataset shows what an earlier run excluded
and edited, with the run it came from; the errors browser counts excluded rows."""

from __future__ import annotations

import pytest

import store
from tests.fixtures.tui_fixtures import VAL_PATTERNS, wait_for, wait_notified
from tests.test_tui_detail import open_detail, text_of
from tests.test_tui_errors import open_errors

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tui_env")]


def curate_in_first_run(path, ids) -> int:
    """Run 1 excludes a train example and edits another's rationale; returns a new run's id."""
    db = store.open_store(path)
    try:
        train = ids["train_ids"]
        store.set_excluded(db, train[4], run_id=ids["run"])
        parent = store.rationales_for_example(db, train[2], ids["run"])[-1]
        store.add_human_edit(db, parent.id, "Raj has 5 marbles, buys 8: 13.\nAnswer: 13",
                             answer="13", correct=True)
        return store.create_run(db, "second", {}, dataset_id=ids["dataset"])
    finally:
        db.close()


async def test_a_new_run_shows_the_curation_it_carries_and_where_it_was_made(tui_store):
    from undo_tui.app import UndoApp

    path, ids = tui_store
    second = curate_in_first_run(path, ids)
    app = UndoApp(path)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_detail(app, pilot, second, ids["train_ids"][4])
        header = text_of(screen, "#detail-header")
        assert f"EXCLUDED from training and exports, left out of scores (made in run " \
               f"{ids['run']})" in header
        await pilot.press("x")  # included again from the new run: the provenance moves with it
        await wait_notified(pilot, "included in training, scores and exports")
        await wait_for(pilot, lambda: not screen.detail.annotation.excluded, what="reloaded")
        db = store.open_store(path)
        changes = [(c.value, c.run_id) for c in store.curation_history(db, ids["train_ids"][4])]
        db.close()
        assert changes == [("1", ids["run"]), ("0", second)]
        app.pop_screen()
        screen = await open_detail(app, pilot, second, ids["train_ids"][2])
        header = text_of(screen, "#detail-header")
        assert f"human rationale (dataset) (made in run {ids['run']})" in header
        assert "teacher kept adding one" not in header  # that note is on train[0]


async def test_the_errors_browser_counts_excluded_rows(tui_store):
    from undo_tui.app import UndoApp

    path, ids = tui_store
    wrong_at_3 = [i for i, p in zip(ids["val_ids"], VAL_PATTERNS) if p[3] == "0"]
    db = store.open_store(path)
    store.set_excluded(db, wrong_at_3[0], run_id=ids["run"])
    db.close()
    app = UndoApp(path)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_errors(app, pilot, ids["run"])
        status = str(screen.query_one("#browse-status").render())
        assert "row 1 of 4" in status and "1 excluded (left out of scores)" in status
        screen.query_one("#errors-table").move_cursor(row=1)
        await pilot.press("x")
        await wait_notified(pilot, "excluded from training, scores and exports")
        await wait_for(pilot, lambda: "2 excluded" in str(
            screen.query_one("#browse-status").render()), what="count follows the exclusion")

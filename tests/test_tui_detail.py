"""Example detail: iterations, diff between rationale versions, tag, note, exclude, human edits."""

from __future__ import annotations

import pytest

import store
from tests.fixtures.tui_fixtures import screen_named, settle, wait_for, wait_notified
from undo_tui.app import UndoApp
from undo_tui.screens.detail import default_pair
from undo_tui.widgets.render import STYLE_DELETE, STYLE_INSERT, word_diff

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("tui_env")]


async def open_detail(app, pilot, run_id, example_id, browser=None):
    await wait_for(pilot, lambda: screen_named(app, "RunsScreen") and app.screen.data)
    app.open_example(run_id, example_id, browser=browser)
    return await wait_for(pilot, lambda: (s := screen_named(app, "ExampleDetailScreen")) and
                          s.detail and s, what="detail loaded")


def text_of(screen, selector):
    return str(screen.query_one(selector).render())


def read(path, fn, *args):
    db = store.open_store(path)
    try:
        return fn(db, *args)
    finally:
        db.close()


def test_word_diff_marks_insertions_and_deletions():
    text, stats = word_diff("so 5 + 8 = 14. Answer: 14", "so 5 + 8 = 13. Answer: 13")
    assert (stats.inserted, stats.deleted) == (2, 2)
    deleted = [text.plain[s.start:s.end] for s in text.spans if s.style == STYLE_DELETE]
    inserted = [text.plain[s.start:s.end] for s in text.spans if s.style == STYLE_INSERT]
    assert deleted == ["14.", "14"] and inserted == ["13.", "13"]


async def test_detail_shows_question_gold_and_every_iteration(tui_store):
    path, ids = tui_store
    example = ids["train_ids"][2]
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(app, pilot, ids["run"], example)
        question = text_of(screen, "#detail-question")
        assert "Raj has 5 marbles and buys 8 more" in question and "Gold answer: 13" in question
        body = text_of(screen, "#detail-iterations")
        for k in range(4):
            assert f"── iteration {k} " in body
        assert "initial  ✗ answer 14" in body and "refined (kept)  ✓ answer 13" in body
        assert body.count("student on train") == 4
        header = text_of(screen, "#detail-header")
        assert "train · train-02" in header
        versions = screen.query_one("#versions")
        assert versions.row_count == 3


async def test_default_diff_is_initial_against_latest_and_a_b_pick_others(tui_store):
    path, ids = tui_store
    example = ids["train_ids"][2]
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(app, pilot, ids["run"], example)
        rationales = screen.detail.rationales
        initial, refined2, refined3 = (r.id for r in rationales)
        assert screen.pair == (initial, refined3) == default_pair(rationales)
        diff = text_of(screen, "#diff")
        assert f"A #{initial} it1 initial" in diff and f"B #{refined3} it3 refined" in diff
        assert "words" in diff
        # pick version 2 as A and 3 as B
        await pilot.press("j", "a")
        assert screen.pair == (refined2, refined3)
        diff = text_of(screen, "#diff")
        assert "+5 words, −1 words" in diff  # "13." → "13, which is the total."
        await pilot.press("k", "b")
        assert screen.pair == (refined2, initial)
        await pilot.press("d")
        assert screen.pair == (initial, refined3)


async def test_tag_note_and_exclude_are_written(tui_store):
    path, ids = tui_store
    example = ids["train_ids"][5]
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(app, pilot, ids["run"], example)
        await pilot.press("t")
        await wait_for(pilot, lambda: screen_named(app, "InputDialog"))
        await pilot.press(*"bad-gold", "enter")
        await wait_for(pilot, lambda: screen.detail.annotation.tags == ("bad-gold",))
        assert "tags: bad-gold" in text_of(screen, "#detail-header")
        await pilot.press("o")
        await wait_for(pilot, lambda: screen_named(app, "InputDialog"))
        await pilot.press(*"gold says 23", "enter")
        await wait_for(pilot, lambda: screen.detail.annotation.note == "gold says 23")
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.detail.annotation.excluded)
        assert "EXCLUDED" in text_of(screen, "#detail-header")
        await pilot.press("T")
        await wait_for(pilot, lambda: screen_named(app, "InputDialog"))
        await pilot.press("enter")  # prefilled with the first tag
        await wait_for(pilot, lambda: screen.detail.annotation.tags == ())
    note = read(path, store.get_annotation, example)
    assert note.excluded and note.note == "gold says 23" and note.tags == ()


async def test_editing_a_rationale_stores_a_new_human_version(tui_store):
    path, ids = tui_store
    example = ids["train_ids"][2]
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(app, pilot, ids["run"], example)
        original = screen.detail.rationales[-1]
        await pilot.press("G", "e")  # the newest version
        editor = await wait_for(pilot, lambda: screen_named(app, "EditorDialog"))
        area = editor.query_one("TextArea")
        assert area.text == original.text
        await pilot.press("ctrl+s")  # unchanged: refused
        assert "no changes" in str(editor.query_one("#dialog-error").render())
        gold = screen.detail.example.answer
        area.text = f"Add what was bought to what there was.\nAnswer: {gold}"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(screen.detail.rationales) == 4, what="new version")
        await settle(pilot)
        human = screen.detail.rationales[-1]
        assert human.source == "human" and human.parent_id == original.id and human.kept
        # graded like the teacher's versions: same answer rules, against the gold answer
        assert (human.answer, human.answer_rule, human.correct) == (gold, "answer_line", True)
        await wait_notified(pilot, f"Graded correct: answer {gold}")
        assert human.iteration == original.iteration
        assert screen.pair == (original.id, human.id)
        assert f"B #{human.id} it3 human" in text_of(screen, "#diff")
    stored = read(path, store.rationales_for_example, example, ids["run"])
    assert [r.source for r in stored] == ["teacher_initial", "teacher_refined",
                                          "teacher_refined", "human"]
    assert stored[2].text == original.text and not stored[2].kept  # original kept as a version
    latest = read(path, store.latest_kept_rationales, ids["run"], 3)
    assert latest[example].id == human.id  # what later iterations and exports use


async def test_a_wrong_or_answerless_edit_is_graded_and_flagged(tui_store):
    path, ids = tui_store
    example = ids["train_ids"][2]
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(app, pilot, ids["run"], example)
        gold = screen.detail.example.answer
        wrong = str(int(gold) + 5)
        for n, text in ((4, f"Careless sum.\nAnswer: {wrong}"), (5, "No final line at all")):
            await pilot.press("G", "e")
            editor = await wait_for(pilot, lambda: screen_named(app, "EditorDialog"))
            editor.query_one("TextArea").text = text
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: len(screen.detail.rationales) == n, what="new version")
        await wait_notified(pilot, f"Graded WRONG: answer {wrong}, gold {gold}")
        await wait_notified(pilot, "No final answer found")
    stored = read(path, store.rationales_for_example, example, ids["run"])
    assert [(r.answer, r.correct) for r in stored if r.source == "human"] == [
        (wrong, False), (None, False)]


async def test_escape_in_the_editor_discards(tui_store):
    path, ids = tui_store
    example = ids["train_ids"][2]
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(app, pilot, ids["run"], example)
        await pilot.press("e")
        editor = await wait_for(pilot, lambda: screen_named(app, "EditorDialog"))
        editor.query_one("TextArea").text = "something else"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await settle(pilot)
        assert len(screen.detail.rationales) == 3


async def test_n_and_N_step_through_the_browser_results(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: screen_named(app, "RunsScreen") and app.screen.data)
        app.open_errors(ids["run"], split="train", status="all", search="Buying")
        errors = await wait_for(pilot, lambda: (s := screen_named(app, "ErrorsScreen")) and
                                s.browser.rows and s)
        await pilot.press("enter")
        screen = await wait_for(pilot, lambda: (s := screen_named(app, "ExampleDetailScreen"))
                                and s.detail and s)
        assert screen.example_id == ids["train_ids"][0] and screen.search == "Buying"
        await pilot.press("n")
        await wait_for(pilot, lambda: screen.detail and
                       screen.detail.example.id == ids["train_ids"][1])
        await pilot.press("n", "N", "N")
        await wait_for(pilot, lambda: screen.detail and
                       screen.detail.example.id == ids["train_ids"][0])
        await pilot.press("N")  # already the first
        await wait_notified(pilot, "No more results")
        # changes made here show in the browser's row on return
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.detail.annotation.excluded)
        await pilot.press("escape")
        assert app.screen is errors and errors.browser.rows[0].excluded


async def test_the_diff_pane_says_why_there_is_nothing_to_compare(tui_store):
    path, ids = tui_store
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(app, pilot, ids["run"], ids["val_ids"][1])
        assert screen.query_one("#versions").row_count == 0
        assert "No rationale versions: the teacher writes rationales for training examples, " \
               "and this one is in the val split" in text_of(screen, "#diff")
        app.pop_screen()
        screen = await open_detail(app, pilot, ids["run"], ids["train_ids"][2])
        first = screen.detail.rationales[0].id
        await pilot.press("b")  # B onto the row A already marks
        assert screen.pair == (first, first)
        assert f"A and B mark the same version (#{first})" in text_of(screen, "#diff")
        assert "Only one rationale version" not in text_of(screen, "#diff")


async def test_editing_an_excluded_example_says_so_and_lists_versions_oldest_first(tui_store):
    path, ids = tui_store
    example = ids["train_ids"][2]
    app = UndoApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_detail(app, pilot, ids["run"], example)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.detail.annotation.excluded, what="excluded")
        initial = screen.detail.rationales[0]
        await pilot.press("g", "e")  # the iteration-1 version, older than the others
        editor = await wait_for(pilot, lambda: screen_named(app, "EditorDialog"))
        editor.query_one("TextArea").text = f"Add them up.\nAnswer: {screen.detail.example.answer}"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(screen.detail.rationales) == 4, what="new version")
        toast = await wait_notified(pilot, "Saved as human version")
        assert "EXCLUDED: no version of it is used for training or exports" in toast.message
        assert "replaces" not in toast.message and "kept for training" not in toast.message
        table = screen.query_one("#versions")
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert [row[1] for row in rows] == ["1", "2", "3", "1"]  # in the order they were made
        assert rows[-1][2] == f"human of #{initial.id}"
        assert "oldest first" in str(table.border_title)
        await pilot.press("x")  # included again: a new edit now replaces its parent
        await wait_for(pilot, lambda: not screen.detail.annotation.excluded, what="included")
        await pilot.press("G", "e")
        editor = await wait_for(pilot, lambda: screen_named(app, "EditorDialog"))
        editor.query_one("TextArea").text = f"Sum.\nAnswer: {screen.detail.example.answer}"
        await pilot.press("ctrl+s")
        toast = await wait_notified(pilot, "in that iteration's training set")
        assert "EXCLUDED" not in toast.message

"""Example detail: the question, its gold answer, and per iteration the teacher's rationale(s) and
the student's output with its verdict; a highlighted word diff between any two rationale
versions; tag, note, exclude, and edit a rationale (stored as a new human version)."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Static

import store
from store import browse
from store.models import Rationale
from undo_tui.messages import ExampleDetail, ExampleLoaded, Saved
from undo_tui.screens.base import BaseScreen
from undo_tui.screens.dialogs import EditorDialog, InputDialog
from undo_tui.widgets.render import highlight, one_line, verdict, word_diff
from undo_tui.widgets.vim_table import VimDataTable, VimScroll

SOURCE_LABELS = {"gold": "gold", "teacher_initial": "initial", "teacher_refined": "refined",
                 "teacher_hinted": "hinted", "human": "human"}


def default_pair(rationales: list[Rationale]) -> tuple[int | None, int | None]:
    """Initial vs latest: the first teacher version, and the newest kept one (else the newest)."""
    ordered = [r for r in rationales if r.source != "gold" and r.status != "failed"]
    if not ordered:
        return None, None
    first = next((r for r in ordered if r.source == "teacher_initial"), ordered[0])
    kept = [r for r in ordered if r.kept]
    last = (kept or ordered)[-1]
    if last.id == first.id:
        later = [r for r in ordered if r.id != first.id]
        last = later[-1] if later else first
    return first.id, last.id


def made_in(run_id: int | None, this_run: int, short: bool = False) -> str:
    """Where a piece of curation was made (it belongs to the dataset, not to one run)."""
    if run_id is None:
        return "" if short else " (made before its run was recorded)"
    if run_id == this_run:
        return "" if short else " (made in this run)"
    return f" (run {run_id})" if short else f" (made in run {run_id})"


def grade_edit(db, parent_id: int, text: str):
    """Grade an edited rationale as the teacher's are graded (same rules), against the gold answer.

    engine.grading.answers is pure string work (no model, no I/O): the one engine module the TUI may
    import (tests/test_layering.py checks both).
    """
    from engine.grading.answers import grade

    example = store.get_example(db, store.get_rationale(db, parent_id).example_id)
    answer_type = store.get_dataset(db, example.dataset_id).answer_type
    return grade(text, example.answer, answer_type,
                 choices=example.choices), example.answer


def edit_saved_text(new_id: int, parent: Rationale, excluded: bool) -> str:
    """What saving an edit did, as the example's state makes it true."""
    saved = f"Saved as human version #{new_id} of iteration {parent.iteration} " \
            f"(#{parent.id} stays as a version). "
    if excluded:
        return saved + ("This example is EXCLUDED: no version of it is used for training or "
                        "exports until you include it again (x). ")
    return saved + (f"It replaces #{parent.id} in that iteration's training set and in exports, "
                     "and new runs on this dataset train on it instead of asking the teacher. ")


def edit_verdict(graded, gold: str) -> str:
    """What the grade of an edit means, in a sentence for the notification."""
    if graded.answer is None:
        return ("No final answer found: add a line like 'Answer: ...' so it can be graded "
                "(stored as wrong).")
    if graded.correct:
        return f"Graded correct: answer {graded.answer}."
    return f"Graded WRONG: answer {graded.answer}, gold {gold}."


def no_diff_reason(detail: ExampleDetail, a: Rationale | None, b: Rationale | None) -> str | None:
    """Why there is nothing to compare, in the words of what is actually the case; None when
    A and B are two versions."""
    versions = [r for r in detail.rationales if r.source != "gold"]
    if not versions:
        split = detail.example.split
        if split != "train":
            return (f"No rationale versions: the teacher writes rationales for training "
                    f"examples, and this one is in the {split} split (the student's answers "
                    "are on the left).")
        return "No rationale versions for this example in this run (yet)."
    if len(versions) == 1:
        return ("Only one rationale version: nothing to compare. Edit it (e) to create a "
                "human version.")
    if a is None or b is None:
        return "Mark two versions to compare: a (from) and b (to) on rows of the table above."
    if a.id == b.id:
        return (f"A and B mark the same version (#{a.id}): move to another row and press a or "
                "b to compare two.")
    return None


def version_label(r: Rationale) -> str:
    return f"#{r.id} it{r.iteration} {SOURCE_LABELS.get(r.source, r.source)}" + (
        f" try {r.attempt}" if r.attempt else "")


class VersionsTable(VimDataTable):
    BINDINGS = [Binding("enter", "select_cursor", "Compare", id="detail_diff_selected")]


class ExampleDetailScreen(BaseScreen):
    HELP_SCOPE = "Example detail"
    BINDINGS = [
        Binding("d", "default_diff", "Initial→latest", id="detail_diff"),
        Binding("a", "mark('a')", "From", id="detail_mark_a"),
        Binding("b", "mark('b')", "To", id="detail_mark_b"),
        Binding("e", "edit", "Edit", id="detail_edit"),
        Binding("t", "add_tag", "Tag", id="detail_tag"),
        Binding("T", "remove_tag", "Untag", id="detail_untag", show=False),
        Binding("o", "note", "Note", id="detail_note"),
        # one key, two bindings: the footer says what x will do to this example
        Binding("x", "set_excluded(True)", "Exclude", id="detail_exclude"),
        Binding("x", "set_excluded(False)", "Include", id="detail_include"),
        Binding("n", "step(1)", "Next", id="detail_next"),
        Binding("N", "step(-1)", "Previous", id="detail_previous", show=False),
        Binding("w", "toggle_focus", "Switch pane", id="detail_pane", show=False),
        Binding("escape", "back", "Back", id="detail_back"),
    ]

    def __init__(self, run_id: int, example_id: int, *, browser=None,
                 iteration: int | None = None, search: str | None = None) -> None:
        super().__init__()
        self.run_id, self.example_id = run_id, example_id
        self.browser = browser
        self.iteration = iteration
        self.search = search
        self.detail: ExampleDetail | None = None
        self.pair: tuple[int | None, int | None] = (None, None)
        self._pair_example: int | None = None
        self.loads = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="detail-header", classes="screen-title")
        with Horizontal(id="detail-body"):
            with VimScroll(id="detail-left"):
                yield Static("", id="detail-question")
                yield Static("", id="detail-iterations")
            with Vertical(id="detail-right"):
                yield VersionsTable(id="versions")
                with VimScroll(id="diff-scroll"):
                    yield Static("", id="diff")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(VersionsTable)
        for label, key in (("#", "id"), ("it", "it"), ("source", "source"), ("kept", "kept"),
                           ("✓", "correct"), ("answer", "answer"), ("text", "text")):
            table.add_column(label, key=key)
        table.focus()
        self.query_one("#versions").border_title = \
            "rationale versions, oldest first (a: from, b: to)"
        self.query_one("#diff-scroll").border_title = "diff"
        self.query_one("#detail-left").border_title = "example"
        self.load()

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False,
          name="loading the example")
    def load(self) -> None:
        db = self.db()
        example_id = self.example_id
        detail = ExampleDetail(
            store.get_example(db, example_id), store.get_annotation(db, example_id),
            store.rationales_for_example(db, example_id, self.run_id),
            store.predictions_for_example(db, example_id, self.run_id),
            edit=store.human_edit(db, example_id))
        self.post_message(ExampleLoaded(detail))

    def on_example_loaded(self, message: ExampleLoaded) -> None:
        detail = message.detail
        if detail.example.id != self.example_id:
            return
        self.detail = detail
        self.loads += 1
        ids = {r.id for r in detail.rationales}
        if self._pair_example != detail.example.id or \
                not all(side in ids for side in self.pair if side is not None):
            self.pair = default_pair(detail.rationales)
            self._pair_example = detail.example.id
        self.sub_title = f"Example {detail.example.id} — run {self.run_id}"
        self._header(detail)
        self.refresh_bindings()  # x: Exclude or Include
        self._body(detail)
        self._versions(detail)
        self._diff()
        if self.browser is not None:
            self.browser.refresh_row_annotations(detail.example.id, detail.annotation.excluded,
                                                 detail.annotation.tags)

    # -- rendering ------------------------------------------------------------------------------

    def _words(self) -> list[str]:
        return browse.search_terms(self.search) if self.search else []

    def _header(self, detail: ExampleDetail) -> None:
        ex, note = detail.example, detail.annotation
        text = Text()
        text.append(f"Example {ex.id}", style="bold")
        text.append(f" · {ex.split} · {ex.ext_id}")
        if ex.category:
            text.append(f" · {ex.category}")
        if note.tags:
            text.append(" · tags: ")
            text.append(", ".join(f"{tag}{made_in(run, self.run_id, short=True)}"
                                  for tag, run in zip(note.tags, note.tag_runs)), style="magenta")
        if note.excluded:
            text.append(" · EXCLUDED from training and exports, left out of scores"
                        + made_in(note.excluded_run_id, self.run_id), style="bold yellow")
        if note.note:
            text.append(f"\nnote{made_in(note.note_run_id, self.run_id)}: "
                        f"{one_line(note.note, 200)}", style="italic")
        if detail.edit is not None:
            text.append(f"\nhuman rationale (dataset){made_in(detail.edit.run_id, self.run_id)}: "
                        "a new run on this dataset trains on it instead of asking the teacher",
                        style="cyan")
        self.query_one("#detail-header", Static).update(text)

    def _body(self, detail: ExampleDetail) -> None:
        ex = detail.example
        words = self._words()
        question = Text("Question\n", style="bold underline")
        question.append_text(highlight(ex.question, words))
        question.append("\n\nGold answer: ", style="bold")
        question.append(ex.answer, style="bold green")
        if ex.rationale:
            question.append("\nGold rationale: ", style="bold")
            question.append(ex.rationale, style="dim")
        self.query_one("#detail-question", Static).update(question)

        by_k: dict[int, list] = {}
        for r in detail.rationales:
            if r.source != "gold":
                by_k.setdefault(r.iteration, []).append(r)
        predictions = {}
        for p in detail.predictions:
            if p.split == ex.split:
                predictions[p.iteration] = p
        body = Text()
        for k in sorted(set(by_k) | set(predictions)):
            header = f"\n── iteration {k} "
            body.append(header + "─" * max(0, 40 - len(header)) + "\n",
                        style="bold reverse" if k == self.iteration else "bold")
            for r in by_k.get(k, []):
                body.append(f"{version_label(r)}", style="bold cyan")
                marks = []
                if r.kept:
                    marks.append("kept")
                if r.status != "ok":
                    marks.append(r.status)
                if r.hinted:
                    marks.append("hinted")
                if marks:
                    body.append(f" ({', '.join(marks)})", style="cyan")
                if r.correct is not None:
                    body.append("  ")
                    body.append_text(verdict(r.correct))
                    body.append(f" answer {r.answer or '—'}")
                body.append("\n")
                body.append_text(highlight(r.text if r.text else f"(failed: {r.error})", words))
                body.append("\n")
            p = predictions.get(k)
            if p is not None:
                body.append(f"student on {p.split}  ", style="bold")
                body.append_text(verdict(p.correct))
                body.append(f" answer {p.answer or '—'}"
                            + ("" if p.has_answer_line else "  (no answer line)") + "\n")
                body.append(p.output + "\n", style="dim")
        if not body:
            body.append("No rationales or predictions for this example in this run.", style="dim")
        self.query_one("#detail-iterations", Static).update(body)

    def _versions(self, detail: ExampleDetail) -> None:
        table = self.query_one(VersionsTable)
        cursor = table.cursor_row
        table.clear()
        a, b = self.pair
        for r in detail.rationales:
            mark = "A " if r.id == a else "B " if r.id == b else ""
            source = SOURCE_LABELS.get(r.source, r.source)
            if r.source == "human" and r.parent_id is not None:
                source += f" of #{r.parent_id}"  # why an iteration-1 row can follow later ones
            table.add_row(Text(f"{mark}{r.id}", style="bold" if mark else ""), str(r.iteration),
                          source, "●" if r.kept else "",
                          verdict(r.correct), one_line(r.answer or "—", 8),
                          one_line(r.text or "", 40), key=str(r.id))
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)

    def _diff(self) -> None:
        diff = self.query_one("#diff", Static)
        if self.detail is None:
            return
        versions = {r.id: r for r in self.detail.rationales}
        a, b = (versions.get(side) for side in self.pair)
        reason = no_diff_reason(self.detail, a, b)
        if reason:
            diff.update(Text(reason, style="dim"))
            return
        rendered, stats = word_diff(a.text, b.text)
        text = Text()
        text.append(f"A {version_label(a)}", style="bold red")
        text.append("  →  ")
        text.append(f"B {version_label(b)}", style="bold green")
        text.append(f"\n+{stats.inserted} words, −{stats.deleted} words, "
                    f"{stats.unchanged} unchanged\n\n", style="dim")
        text.append_text(rendered)
        diff.update(text)

    # -- actions ------------------------------------------------------------------------------

    def selected_version(self) -> Rationale | None:
        table = self.query_one(VersionsTable)
        if self.detail is None or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.detail.rationales if str(r.id) == key), None)

    def action_default_diff(self) -> None:
        if self.detail is not None:
            self.pair = default_pair(self.detail.rationales)
            self._versions(self.detail)
            self._diff()

    def action_mark(self, side: str) -> None:
        r = self.selected_version()
        if r is None:
            return
        a, b = self.pair
        self.pair = (r.id, b) if side == "a" else (a, r.id)
        self._versions(self.detail)
        self._diff()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_mark("b")

    def action_toggle_focus(self) -> None:
        table = self.query_one(VersionsTable)
        (self.query_one("#detail-left") if table.has_focus else table).focus()

    def action_edit(self) -> None:
        r = self.selected_version()
        if r is None:
            self.notify("No rationale to edit for this example", severity="warning")
            return
        if r.source == "gold" or r.run_id is None:
            self.notify("The gold rationale belongs to the dataset; edit a teacher version",
                        severity="warning")
            return

        def saved(text: str | None) -> None:
            if text is not None:
                self._edited_parent = r.id
                self.save_edit(r.id, text)

        self.app.push_screen(EditorDialog(f"Edit {version_label(r)} of example {self.example_id}",
                                          r.text), saved)

    @work(thread=True, exit_on_error=False, name="saving the edit")
    def save_edit(self, parent_id: int, text: str) -> None:
        db = self.db()
        graded, gold = grade_edit(db, parent_id, text)
        new_id = store.add_human_edit(db, parent_id, text, answer=graded.answer,
                                      answer_rule=graded.rule, correct=graded.correct)
        parent = store.get_rationale(db, parent_id)
        excluded = store.get_annotation(db, parent.example_id).excluded
        self.post_message(Saved("edit", edit_saved_text(new_id, parent, excluded)
                                + edit_verdict(graded, gold), new_id))

    def action_add_tag(self) -> None:
        tags = self.app.known_tags()

        def chosen(value: str | None) -> None:
            if value and value.strip():
                self.save_tag(value.strip(), True)

        self.app.push_screen(InputDialog("Add a tag", f"Tag for example {self.example_id}",
                                         suggestions=tags, placeholder="e.g. bad-gold"), chosen)

    def action_remove_tag(self) -> None:
        if self.detail is None or not self.detail.annotation.tags:
            self.notify("This example has no tags", severity="warning")
            return
        current = list(self.detail.annotation.tags)

        def chosen(value: str | None) -> None:
            if value and value.strip():
                self.save_tag(value.strip(), False)

        self.app.push_screen(InputDialog("Remove a tag", f"Tags: {', '.join(current)}",
                                         value=current[0], suggestions=current), chosen)

    @work(thread=True, exit_on_error=False, name="saving the tag")
    def save_tag(self, tag: str, add: bool) -> None:
        if add:
            store.add_tag(self.db(), self.example_id, tag, run_id=self.run_id)
        else:
            store.remove_tag(self.db(), self.example_id, tag, run_id=self.run_id)
        self.post_message(Saved("tag", f"Tag “{tag}” {'added' if add else 'removed'}.",
                                self.example_id))

    def action_note(self) -> None:
        current = self.detail.annotation.note if self.detail else None

        def chosen(value: str | None) -> None:
            if value is not None:
                self.save_note(value)

        self.app.push_screen(InputDialog("Note", "A note on this example (empty clears it)",
                                         value=current or ""), chosen)

    @work(thread=True, exit_on_error=False, name="saving the note")
    def save_note(self, note: str) -> None:
        store.set_note(self.db(), self.example_id, note.strip() or None, run_id=self.run_id)
        self.post_message(Saved("note", "Note saved." if note.strip() else "Note cleared.",
                                self.example_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "set_excluded":
            return self.detail is not None and self.detail.annotation.excluded != parameters[0]
        return True

    def action_set_excluded(self, excluded: bool) -> None:
        if self.detail is not None:
            self.save_excluded(excluded)

    @work(thread=True, exit_on_error=False, name="saving exclusion")
    def save_excluded(self, excluded: bool) -> None:
        store.set_excluded(self.db(), self.example_id, excluded, run_id=self.run_id)
        self.post_message(Saved("exclude", f"Example {self.example_id} "
                                           + ("excluded from" if excluded else "included in")
                                           + " training, scores and exports (every run on its "
                                             "dataset).", self.example_id))

    def on_saved(self, message: Saved) -> None:
        self.notify(message.text)
        if message.what == "edit":
            # show the new human version against the version it was edited from
            self.pair = (getattr(self, "_edited_parent", self.pair[0]), message.subject)
        self.load()

    def action_step(self, step: int) -> None:
        if self.browser is None:
            self.notify("Open examples from the errors browser to step through them",
                        severity="warning")
            return
        example_id = self.browser.neighbour(self.example_id, step)
        if example_id is None:
            self.notify("No more results in that direction (more may be loading)",
                        severity="warning")
            return
        self.example_id = example_id
        self.detail = None
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

"""Modal dialogs: confirm, one-line input, and the rationale editor."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList, Suggester
from textual.widgets import Button, Input, Label, Static, TextArea


class ConfirmDialog(ModalScreen[bool]):
    """Yes/no; y or enter confirms, n or escape cancels."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm_yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm_no"),
    ]

    def __init__(self, title: str, body: str, confirm_label: str = "Yes",
                 danger: bool = False) -> None:
        super().__init__()
        self.title_text, self.body, self.confirm_label, self.danger = title, body, confirm_label, danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.confirm_label} (y)", id="yes",
                             variant="error" if self.danger else "primary")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class InputDialog(ModalScreen[str | None]):
    """One line of input; enter submits, escape cancels. `check` returns an error text or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="input_cancel")]

    def __init__(self, title: str, prompt: str, *, value: str = "", placeholder: str = "",
                 suggestions: list[str] | None = None, suggester: Suggester | None = None,
                 check: Callable[[str], str | None] | None = None) -> None:
        super().__init__()
        self.title_text, self.prompt, self.value = title, prompt, value
        self.placeholder, self.check = placeholder, check
        self.suggester = suggester or (SuggestFromList(suggestions, case_sensitive=False)
                                       if suggestions else None)

    def compose(self) -> ComposeResult:
        suggester = self.suggester
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Label(self.prompt, classes="dialog-body")
            yield Input(self.value, placeholder=self.placeholder, suggester=suggester,
                        id="dialog-input")
            yield Label("", id="dialog-error", classes="dialog-error")
            yield Label("enter: OK · escape: cancel"
                        + (" · →: accept suggestion" if suggester else ""), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value
        if self.check is not None:
            problem = self.check(value)
            if problem:
                self.query_one("#dialog-error", Label).update(problem)
                return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class EditorDialog(ModalScreen[str | None]):
    """Edit a rationale in a TextArea; ctrl+s saves it as a new human version, escape cancels."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save as new version", id="editor_save", priority=True),
        Binding("escape", "cancel", "Cancel", id="editor_cancel", priority=True),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog editor"):
            yield Label(self.title_text, classes="dialog-title")
            yield TextArea(self.text, id="editor", soft_wrap=True, show_line_numbers=True,
                           tab_behavior="indent")
            yield Label("", id="dialog-error", classes="dialog-error")
            yield Label("ctrl+s: save as a new human version (the original is kept) · "
                        "escape: cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        if not text.strip():
            self.query_one("#dialog-error", Label).update("an edited rationale cannot be empty")
            return
        if text == self.text:
            self.query_one("#dialog-error", Label).update("no changes to save (escape to cancel)")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)

"""Transfer: train another student on one iteration's data of this run, started from the TUI.

The dialog records the transfer run through `undo-tui transfer --from-run RUN --create-only` in a
thread worker (that process exports the iteration and checks the student; the TUI loads no engine
code), shows the CLI's own error in place when something is wrong (a student path that does not
exist, an iteration without training data), and otherwise closes with the new run's id. The
caller then starts its training detached, like any run (engine_control.resume_run).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from store.errors import UndoError
from undo_tui import engine_control

PACKAGED_STUDENTS = ["smollm2"]  # model names the engine resolves without a path


@dataclass(frozen=True)
class TransferRequest:
    iteration: str  # "best" or a number
    student: str
    name: str | None = None
    epochs: int | None = None
    correct_only: bool = False
    refined_only: bool = False


def check_request(request: TransferRequest) -> str | None:
    """What is wrong with the form, before any process starts (the CLI checks the rest)."""
    student = request.student.strip()
    if not student:
        return "Name the new student: smollm2, a Hugging Face model directory or a .gguf file"
    looks_like_path = "/" in student or student.startswith(("~", ".")) or \
        student.endswith(".gguf")
    if looks_like_path and not Path(student).expanduser().exists():
        return f"{student}: no such file or directory"
    if request.epochs is not None and request.epochs < 1:
        return "epochs: a whole number of at least 1 (or empty for the source run's)"
    return None


class TransferCreated(Message):
    def __init__(self, run_id: int | None, error: str | None = None) -> None:
        super().__init__()
        self.run_id, self.error = run_id, error


class TransferDialog(ModalScreen[int | None]):
    """Closes with the id of the recorded transfer run, or None when cancelled."""

    BINDINGS = [
        Binding("ctrl+s", "start", "Start", id="transfer_start", priority=True),
        Binding("escape", "close", "Cancel", id="transfer_cancel", priority=True),
    ]

    def __init__(self, run_id: int, iterations: list[int], best: int | None,
                 students: list[str] = ()) -> None:
        super().__init__()
        self.run_id, self.iterations, self.best = run_id, iterations, best
        self.students = list(dict.fromkeys([*PACKAGED_STUDENTS, *students]))
        self.creating = False

    def compose(self) -> ComposeResult:
        best = f"best (iteration {self.best})" if self.best is not None else "best"
        choices = [(best, "best")] + [(f"iteration {k}", str(k)) for k in self.iterations]
        with Vertical(classes="dialog transfer"):
            yield Label(f"Train another student on run {self.run_id}'s data",
                        classes="dialog-title")
            yield Label("The new student is trained on the chosen iteration's training set and "
                        "evaluated beside this run's student (a run of kind transfer; it keeps "
                        "running in the background when you quit).", classes="dialog-body")
            with Horizontal(classes="form-row"):
                yield Label("data", classes="form-label")
                yield Select(choices, value="best", allow_blank=False, id="transfer-iteration")
            with Horizontal(classes="form-row"):
                yield Label("student", classes="form-label")
                yield Input("", id="transfer-student",
                            placeholder="smollm2, a model directory or a .gguf file",
                            suggester=SuggestFromList(self.students, case_sensitive=False))
            with Horizontal(classes="form-row"):
                yield Label("name", classes="form-label")
                yield Input("", id="transfer-name", placeholder="optional")
            with Horizontal(classes="form-row"):
                yield Label("epochs", classes="form-label")
                yield Input("", id="transfer-epochs", type="integer",
                            placeholder="the source run's")
            with Horizontal(classes="form-row checks"):
                yield Checkbox("correct only", id="transfer-correct")
                yield Checkbox("refined only", id="transfer-refined")
            yield Static("", id="transfer-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start (ctrl+s)", id="transfer-go", variant="primary")
                yield Button("Cancel (esc)", id="transfer-cancel")

    def on_mount(self) -> None:
        self.query_one("#transfer-student", Input).focus()

    def request(self) -> TransferRequest:
        epochs = self.query_one("#transfer-epochs", Input).value.strip()
        return TransferRequest(
            iteration=str(self.query_one("#transfer-iteration", Select).value),
            student=self.query_one("#transfer-student", Input).value.strip(),
            name=self.query_one("#transfer-name", Input).value.strip() or None,
            epochs=int(epochs) if epochs.lstrip("-").isdigit() else (0 if epochs else None),
            correct_only=self.query_one("#transfer-correct", Checkbox).value,
            refined_only=self.query_one("#transfer-refined", Checkbox).value)

    def action_start(self) -> None:
        if self.creating:
            return
        request = self.request()
        problem = check_request(request)
        if problem:
            self.query_one("#transfer-error", Static).update(problem)
            return
        self.creating = True
        self.query_one("#transfer-error", Static).update(
            "Exporting the data and checking the student…")
        self.query_one("#transfer-go", Button).disabled = True
        self.create(request)

    @work(thread=True, exclusive=True, exit_on_error=False, name="recording the transfer")
    def create(self, request: TransferRequest) -> None:
        try:
            run_id = engine_control.create_transfer(
                self.app.store.path, self.run_id, request.iteration, request.student,
                name=request.name, epochs=request.epochs, correct_only=request.correct_only,
                refined_only=request.refined_only, python=self.app.engine_python)
        except (UndoError, OSError) as exc:
            self.post_message(TransferCreated(None, str(exc)))
            return
        self.post_message(TransferCreated(run_id))

    def on_transfer_created(self, message: TransferCreated) -> None:
        self.creating = False
        if message.run_id is not None:
            self.dismiss(message.run_id)
            return
        self.query_one("#transfer-error", Static).update(message.error or "failed")
        self.query_one("#transfer-go", Button).disabled = False

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_start()

    @on(Button.Pressed, "#transfer-go")
    def go(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#transfer-cancel")
    def cancel(self) -> None:
        self.action_close()

    def action_close(self) -> None:
        if not self.creating:
            self.dismiss(None)

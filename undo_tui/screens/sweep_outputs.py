"""The outputs of one sweep point, the teacher's tokens highlighted; `c` shows the same example
side by side under every policy at this point's budget (student, teacher and speculative
decoding beside them)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

import store
from store import wheels as store_wheels
from store.models import Example
from undo_tui.screens.base import BaseScreen
from undo_tui.screens.sweep import STYLES
from undo_tui.widgets.owned_text import legend, owned_text, verdict
from undo_tui.widgets.render import one_line
from undo_tui.widgets.vim_table import VimDataTable, VimScroll


@dataclass(frozen=True)
class ExampleView:
    example: Example
    outputs: list[tuple[store_wheels.Point, store_wheels.Output]]  # this point first, or all


class OutputsLoaded(Message):
    def __init__(self, outputs: list[store_wheels.Output]) -> None:
        super().__init__()
        self.outputs = outputs


class ExampleLoaded(Message):
    def __init__(self, view: ExampleView) -> None:
        super().__init__()
        self.view = view


class OutputsTable(VimDataTable):
    pass


def compared_points(point: store_wheels.Point,
                    points: list[store_wheels.Point]) -> list[store_wheels.Point]:
    """The anchors and every policy at this point's budget (the budget's own point first)."""
    same = [p for p in points if p.status == "done" and
            (p.policy in ("student", "teacher", "speculative") or p.budget == point.budget)]
    return sorted(same, key=lambda p: (p.id != point.id, p.position))


class SweepOutputsScreen(BaseScreen):
    HELP_SCOPE = "Sweep outputs"
    CSS_PATH = STYLES / "wheels.tcss"
    BINDINGS = [
        Binding("c", "compare", "Across policies", id="sweep_compare"),
        Binding("escape", "back", "Back", id="sweep_outputs_back"),
    ]

    def __init__(self, run_id: int, point: store_wheels.Point,
                 points: list[store_wheels.Point]) -> None:
        super().__init__()
        self.run_id, self.point, self.points = run_id, point, points
        self.comparing = False
        self.example_id: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(f"{self.point.label}: outputs · ", style="bold") + legend(),
                     id="outputs-title", classes="screen-title")
        with Horizontal(id="outputs-body"):
            yield OutputsTable(id="outputs-table")
            with Vertical(id="outputs-right"):
                yield Static("", id="outputs-question")
                yield VimScroll(Static("", id="outputs-text"), id="outputs-view")
                yield Horizontal(id="outputs-compare")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Sweep — run {self.run_id} · {self.point.label}"
        table = self.query_one(OutputsTable)
        for label, width in (("#", 6), ("ok", 4), ("teacher", 8), ("output", 30)):
            table.add_column(label, width=width)
        self.query_one("#outputs-compare").display = False
        table.focus()
        self.load_outputs()

    @work(thread=True, exclusive=True, group="outputs", exit_on_error=False, name="loading outputs")
    def load_outputs(self) -> None:
        self.post_message(OutputsLoaded(store_wheels.point_outputs(self.db(), self.point.id)))

    def on_outputs_loaded(self, message: OutputsLoaded) -> None:
        table = self.query_one(OutputsTable)
        for output in message.outputs:
            ok = ("✓" if output.score else "✗") if self.point.metric == "accuracy" \
                else f"{output.score:.0f}"
            table.add_row(str(output.example_id), ok, f"{output.asks}/{output.new_tokens}",
                          one_line(output.text, 30), key=str(output.example_id))
        if message.outputs:
            self.show_example(message.outputs[0].example_id)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value is not None:
            self.show_example(int(event.row_key.value))

    def show_example(self, example_id: int) -> None:
        self.example_id = example_id
        self.load_example(example_id, self.comparing)

    @work(thread=True, exclusive=True, group="example", exit_on_error=False, name="loading an example")
    def load_example(self, example_id: int, comparing: bool) -> None:
        db = self.db()
        example = store.get_example(db, example_id)
        wanted = {p.id for p in compared_points(self.point, self.points)} if comparing \
            else {self.point.id}
        outputs = [(p, o) for p, o in store_wheels.example_outputs(db, self.run_id, example_id)
                   if p.id in wanted]
        outputs.sort(key=lambda pair: pair[0].id != self.point.id)
        self.post_message(ExampleLoaded(ExampleView(example, outputs)))

    def on_example_loaded(self, message: ExampleLoaded) -> None:
        view = message.view
        if view.example.id != self.example_id:
            return  # the cursor has moved on
        question = Text(f"example {view.example.id} · gold {view.example.answer}\n", style="bold")
        question.append(one_line(view.example.question, 400))
        self.query_one("#outputs-question", Static).update(question)
        compare = self.query_one("#outputs-compare", Horizontal)
        single = self.query_one("#outputs-view", VimScroll)
        compare.display, single.display = self.comparing, not self.comparing
        if not self.comparing:
            point, output = view.outputs[0]
            body = verdict(output, point.metric) + Text("\n\n") + owned_text(output)
            self.query_one("#outputs-text", Static).update(body)
            return
        compare.remove_children()
        compare.mount_all([self._column(point, output) for point, output in view.outputs])

    def _column(self, point: store_wheels.Point, output: store_wheels.Output) -> VimScroll:
        body = Text(point.label, style="bold") + Text("\n") + verdict(output, point.metric)
        body += Text("\n\n") + owned_text(output)
        return VimScroll(Static(body), classes="compare-column")

    def action_compare(self) -> None:
        self.comparing = not self.comparing
        self.query_one("#outputs-body").set_class(self.comparing, "-comparing")
        title = "same example across policies at " + (
            f"{self.point.budget:g}%" if self.point.budget not in (0, 100) else "the anchors")
        self.query_one("#outputs-title", Static).update(
            Text(f"{self.point.label}: {title if self.comparing else 'outputs'} · ",
                 style="bold") + legend())
        if self.example_id is not None:
            self.show_example(self.example_id)

    def action_back(self) -> None:
        self.app.pop_screen()

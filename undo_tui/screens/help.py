"""Help: every key binding of every screen, with the key it has now and the id to remap it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Input, Static

from undo_tui.screens.base import BaseScreen
from undo_tui.widgets.vim_table import VimDataTable


def binding_rows(app) -> list[tuple[str, str, str, str]]:
    """(section, keys, description, binding id) for every binding the app declares."""
    keymap = getattr(app, "_keymap", {}) or {}
    rows = []
    for section, classes in app.help_sections():
        seen = set()
        for cls in classes:
            for binding in cls.__dict__.get("BINDINGS", []):
                if not isinstance(binding, Binding):
                    binding = Binding(*binding)
                key = keymap.get(binding.id, binding.key) if binding.id else binding.key
                ident = binding.id or ""
                if (key, binding.action) in seen:
                    continue
                seen.add((key, binding.action))
                shown = ", ".join(_pretty(app, part, binding) for part in key.split(","))
                rows.append((section, shown, binding.description or binding.action, ident))
    return rows


def _pretty(app, key: str, binding: Binding) -> str:
    key = key.strip()
    if binding.key_display and key == binding.key:
        return binding.key_display
    names = {"question_mark": "?", "slash": "/", "left_square_bracket": "[",
             "right_square_bracket": "]", "escape": "esc", "enter": "enter"}
    return names.get(key, key)


class HelpScreen(BaseScreen):
    HELP_SCOPE = "Help"
    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/", id="help_filter", priority=True),
        Binding("escape,q", "close", "Close", id="help_close"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="help-intro", classes="screen-title")
        yield Input(placeholder="/ filter bindings", id="help-filter")
        yield VimDataTable(id="help-table")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "Keys"
        path = self.app.keymap_file.path
        state = "loaded" if self.app.keymap_file.exists else "not present"
        self.query_one("#help-intro", Static).update(
            f"Every binding. Remap any with its id in {path} ({state}), for example:\n"
            "  [keys]\n  runs_stop = \"ctrl+s\"\n"
            f"Store: {self.app.store.path}   ·   ctrl+p: command palette with this screen's "
            "commands")
        table = self.query_one(VimDataTable)
        table.add_columns("where", "keys", "action", "binding id")
        self.rows = binding_rows(self.app)
        self._show("")
        table.focus()

    def _show(self, needle: str) -> None:
        table = self.query_one(VimDataTable)
        table.clear()
        needle = needle.lower()
        for row in self.rows:
            if not needle or any(needle in cell.lower() for cell in row):
                table.add_row(*row)

    @on(Input.Changed, "#help-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self._show(event.value)

    @on(Input.Submitted, "#help-filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        self.query_one(VimDataTable).focus()

    def action_filter(self) -> None:
        self.set_focus(self.query_one("#help-filter", Input))  # at once: typing follows /

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter":  # in the filter box, / is a character
            return not self.query_one("#help-filter", Input).has_focus
        return True

    def action_close(self) -> None:
        if self.query_one("#help-filter", Input).has_focus:
            self.query_one(VimDataTable).focus()
            return
        self.app.pop_screen()

"""The Textual app: opens a store, shows the runs (or a first-run screen), routes between screens.

Never loads a model or engine training code: runs are started as background processes
(engine_control) and followed by polling the store in thread workers. Every store read happens in
a worker with that thread's own SQLite connection (undo_tui/store_access.py).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

import store
from undo_tui.gc_pacing import GcPacer
from undo_tui.keymap import KeymapFile, binding_ids, load_keymap
from undo_tui.messages import StoreFailed, StoreOpened
from undo_tui.store_access import StoreHandle

STYLES = Path(__file__).parent / "styles"


class UndoApp(App):
    TITLE = "undo-tui"
    CSS_PATH = [STYLES / "app.tcss", STYLES / "screens.tcss", STYLES / "dialogs.tcss"]
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?", id="app_help"),
        Binding("q", "quit", "Quit", id="app_quit"),
    ]

    def __init__(self, store_path: str | Path, *, engine_python: str | None = None,
                 poll_interval: float = 1.0, keymap_path: Path | None = None,
                 open_run: int | None = None) -> None:
        super().__init__()
        self.open_run = open_run  # a run whose dashboard opens once the store is open
        self.store = StoreHandle(store_path)
        self.engine_python = engine_python or sys.executable
        self.poll_interval = poll_interval
        self.keymap_path = keymap_path
        self.keymap_file = KeymapFile(Path(""))
        self.opened = False
        self.open_error: str | None = None
        self.gc_pacer = GcPacer()

    # -- layout and start-up --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(f"Opening {self.store.path} …", id="opening")

    def on_mount(self) -> None:
        self.keymap_file = load_keymap(self.keymap_path, known_ids=self.all_binding_ids())
        if self.keymap_file.keymap:
            self.set_keymap(self.keymap_file.keymap)
        for problem in self.keymap_file.problems:
            self.notify(problem, title="Key bindings", severity="warning", timeout=15)
        self.open_store()
        self.set_interval(0.5, self.gc_pacer.tick, name="gc pacing")

    @work(thread=True, exclusive=True, group="open", exit_on_error=False, name="opening the store")
    def open_store(self) -> None:
        path = self.store.path
        try:
            db = store.open_store(path)  # creates or migrates, then per-thread connections
            db.close()
            empty = not store.list_runs(self.store.db()) and not store.list_datasets(self.store.db())
        except Exception as exc:
            self.post_message(StoreFailed(path, str(exc)))
            return
        self.post_message(StoreOpened(path, empty))

    def on_store_opened(self, message: StoreOpened) -> None:
        self.opened = True
        self.open_error = None
        self.sub_title = message.path.name
        self._reset_screens()
        if message.empty:
            from undo_tui.screens.first_run import FirstRunScreen

            self.push_screen(FirstRunScreen())
        else:
            self.show_runs()
            if self.open_run is not None:
                self.open_dashboard(self.open_run)
        self.open_run = None
        self.gc_pacer.arm()  # at the first pause: freeze start-up objects, pace full collections

    def on_store_failed(self, message: StoreFailed) -> None:
        self.open_error = message.error
        self.query_one("#opening", Static).update(
            f"Could not open {message.path}:\n{message.error}\n\nPress q to quit.")
        self.notify(message.error, title="Cannot open the store", severity="error", timeout=20)

    def _reset_screens(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def on_unmount(self) -> None:
        self.gc_pacer.stop()
        self.store.close()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.gc_pacer.input_seen()  # full collections wait for a pause in typing
        await super().on_event(event)

    # -- navigation -----------------------------------------------------------------------------

    def show_runs(self) -> None:
        from undo_tui.screens.runs import RunsScreen

        self._reset_screens()
        self.push_screen(RunsScreen())

    def switch_store(self, path: str | Path) -> None:
        self.store.close()
        self.store = StoreHandle(path)
        self.opened = False
        self.notify(f"Opening {self.store.path}")
        self.open_store()

    def open_dashboard(self, run_id: int) -> None:
        from undo_tui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen(run_id))

    def open_errors(self, run_id: int, **wanted) -> None:
        from undo_tui.screens.errors import ErrorsScreen

        self.push_screen(ErrorsScreen(run_id, **wanted))

    def open_example(self, run_id: int, example_id: int, browser=None) -> None:
        from undo_tui.screens.detail import ExampleDetailScreen

        flt = browser.flt if browser is not None else None
        self.push_screen(ExampleDetailScreen(
            run_id, example_id, browser=browser,
            iteration=flt.iteration if flt else None, search=flt.search if flt else None))

    def open_export(self, run_id: int) -> None:
        from undo_tui.screens.export import ExportDialog

        self.push_screen(ExportDialog(run_id))

    def action_help(self) -> None:
        from undo_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # q and ? do not act behind a dialog (q would quit out from under a half-typed edit).
        if action in ("quit", "help") and isinstance(self.screen, ModalScreen):
            return False
        return True

    def known_tags(self) -> list[str]:
        from undo_tui.screens.errors import ErrorsScreen

        for screen in reversed(self.screen_stack):
            if isinstance(screen, ErrorsScreen) and screen.options is not None:
                return [tag for tag, _ in screen.options.tags]
        return []

    # -- help, keymap, command palette ----------------------------------------------------------

    def help_sections(self) -> list[tuple[str, list[type]]]:
        """Every class that declares bindings, grouped as the help screen lists them."""
        from undo_tui.screens.ask import AskScreen
        from undo_tui.screens.dashboard import DashboardScreen, IterationsTable
        from undo_tui.screens.detail import ExampleDetailScreen, VersionsTable
        from undo_tui.screens.distill import DistillScreen
        from undo_tui.screens.dialogs import ConfirmDialog, EditorDialog, InputDialog
        from undo_tui.screens.errors import ErrorsScreen
        from undo_tui.screens.export import ExportDialog
        from undo_tui.screens.first_run import FirstRunScreen
        from undo_tui.screens.help import HelpScreen
        from undo_tui.screens.runs import RunsScreen, RunsTable
        from undo_tui.screens.sweep import PointsTable, SweepScreen
        from undo_tui.screens.sweep_outputs import SweepOutputsScreen
        from undo_tui.screens.transfer_dialog import TransferDialog
        from textual.widgets import DataTable

        from undo_tui.widgets.errors_table import ErrorsTable
        from undo_tui.widgets.vim_table import VimDataTable, VimLog, VimScroll

        return [
            ("everywhere", [UndoApp]),
            ("tables", [VimDataTable, DataTable]),
            ("text panes and the log", [VimScroll, VimLog]),
            ("runs", [RunsTable, RunsScreen]),
            ("dashboard", [IterationsTable, DashboardScreen]),
            ("errors browser", [ErrorsTable, ErrorsScreen]),
            ("example detail", [VersionsTable, ExampleDetailScreen]),
            ("rationale editor", [EditorDialog]),
            ("export dialog", [ExportDialog]),
            ("transfer dialog", [TransferDialog]),
            ("Training Wheels sweep", [PointsTable, SweepScreen]),
            ("sweep outputs", [SweepOutputsScreen]),
            ("distillation", [DistillScreen]),
            ("ask training", [AskScreen]),
            ("dialogs", [ConfirmDialog, InputDialog]),
            ("help", [HelpScreen]),
            ("first run", [FirstRunScreen]),
        ]

    def all_binding_ids(self) -> list[str]:
        return binding_ids(cls for _, classes in self.help_sections() for cls in classes)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette offers this screen's commands first (from its live bindings), then the app's.

        Only this app's own bindings (they have ids), less the movement keys every table and
        pane shares: a focused widget's raw bindings ("Cursor right", "Copy selected text")
        are keys, not commands.
        """
        from undo_tui.widgets.vim_table import VimDataTable, VimScroll

        movement = set(binding_ids([VimDataTable, VimScroll]))
        seen = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.id or binding.id in movement or not binding.description \
                    or binding.system or binding.action in seen:
                continue
            if binding.action in ("quit", "help", "command_palette"):
                continue
            seen.add(binding.action)
            scope = getattr(screen, "HELP_SCOPE", "Screen")
            yield SystemCommand(f"{scope}: {binding.tooltip or binding.description}",
                                f"key {self.get_key_display(binding)}",
                                partial(self._run_binding, active.node, binding.action),
                                discover=active.enabled)
        yield SystemCommand("Help: all key bindings", "key ?", self.action_help)
        yield from super().get_system_commands(screen)

    async def _run_binding(self, node, action: str) -> None:
        await node.run_action(action)

"""Export: a dialog that drives the exporter (`undo-tui export`) for one run, in a worker.

The exporter pulls in pandas/pyarrow/datasets, so it runs as its own process (the same command a
user would type) rather than inside the TUI; the dialog waits for it in a thread worker and shows
its output. When the exporter is not installed, the dialog says so and stays disabled.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

import store

FALLBACK_FORMATS = ("trl-messages", "trl-prompt-completion", "hf", "parquet",
                    "llamafactory-alpaca", "llamafactory-sharegpt")
SUFFIXES = {"trl-messages": ".jsonl", "trl-prompt-completion": ".jsonl", "hf": "",
            "parquet": ".parquet", "llamafactory-alpaca": ".json",
            "llamafactory-sharegpt": ".json"}


def exporter_available() -> bool:
    """Whether the exporter and its command are installed, found without importing them."""
    try:
        engine = importlib.util.find_spec("engine")
    except (ImportError, ValueError):
        return False
    if engine is None or not engine.submodule_search_locations:
        return False
    roots = [Path(p) for p in engine.submodule_search_locations]
    has_engine = any((r / "export" / "__init__.py").exists() or (r / "export.py").exists()
                     for r in roots)
    command = Path(__file__).resolve().parents[1] / "commands" / "export.py"
    return has_engine and command.exists()


def export_command(python: str, store_path: Path, run_id: int, fmt: str, out: str,
                   iteration: str = "best", *, correct_only: bool = False,
                   refined_only: bool = False, prefer_human: bool = True, force: bool = False,
                   tags: list[str] = (), exclude_tags: list[str] = ()) -> list[str]:
    argv = [python, "-m", "undo_tui.cli", "--store", str(store_path), "export", str(run_id),
            "--format", fmt, "--out", out, "--iteration", iteration or "best"]
    if correct_only:
        argv.append("--correct-only")
    if refined_only:
        argv.append("--refined-only")
    if not prefer_human:
        argv.append("--no-prefer-human")
    if force:
        argv.append("--force")
    for tag in tags:
        argv += ["--tag", tag]
    for tag in exclude_tags:
        argv += ["--exclude-tag", tag]
    return argv


class ExportFormats(Message):
    def __init__(self, formats: list[str], exports: list) -> None:
        super().__init__()
        self.formats, self.exports = formats, exports


class ExportFinished(Message):
    def __init__(self, ok: bool, output: str) -> None:
        super().__init__()
        self.ok, self.output = ok, output


class ExportDialog(ModalScreen[bool]):
    BINDINGS = [
        Binding("ctrl+e", "export", "Export", id="export_run", priority=True),
        Binding("escape", "close", "Close", id="export_close", priority=True),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.available = exporter_available()
        self.running = False
        self.finished = 0
        self._last_default = ""

    def compose(self) -> ComposeResult:
        self._last_default = self._default_out("trl-messages", "best")
        with Vertical(classes="dialog export"):
            yield Label(f"Export run {self.run_id}", classes="dialog-title")
            if not self.available:
                yield Static(
                    "The exporter is not available in this installation (engine.export and the "
                    "`undo-tui export` command are missing), so exporting is disabled here. "
                    "Install a build that includes it; this dialog then drives it.",
                    id="export-disabled", classes="dialog-error")
            with Horizontal(classes="form-row"):
                yield Label("format", classes="form-label")
                yield Select([(f, f) for f in FALLBACK_FORMATS], value="trl-messages",
                             allow_blank=False, id="export-format")
            with Horizontal(classes="form-row"):
                yield Label("iteration", classes="form-label")
                yield Input("best", id="export-iteration", placeholder="best or a number")
            with Horizontal(classes="form-row"):
                yield Label("output", classes="form-label")
                yield Input(self._last_default, id="export-out")
            with Horizontal(classes="form-row"):
                yield Label("only tags", classes="form-label")
                yield Input("", id="export-tags", placeholder="comma-separated (optional)")
            with Horizontal(classes="form-row"):
                yield Label("skip tags", classes="form-label")
                yield Input("", id="export-exclude-tags", placeholder="comma-separated (optional)")
            with Horizontal(classes="form-row checks"):
                yield Checkbox("correct only", id="export-correct")
                yield Checkbox("refined only", id="export-refined")
                yield Checkbox("prefer human edits", True, id="export-human")
                yield Checkbox("replace existing", id="export-force")
            yield Static("", id="export-history")
            yield Static("", id="export-output")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export (ctrl+e)", id="export-go", variant="primary",
                             disabled=not self.available)
                yield Button("Close (esc)", id="export-cancel")

    def on_mount(self) -> None:
        if self.available:
            self.load_formats()
            self.query_one("#export-format", Select).focus()
        else:
            for widget in self.query("Select, Input, Checkbox"):
                widget.disabled = True
            self.query_one("#export-cancel", Button).focus()

    def _default_out(self, fmt: str, iteration: str) -> str:
        base = self.app.store.path.parent / "exports"
        return str(base / f"run-{self.run_id}-{iteration or 'best'}-{fmt}{SUFFIXES.get(fmt, '')}")

    @work(thread=True, exclusive=True, group="export-formats", exit_on_error=False,
          name="reading export formats")
    def load_formats(self) -> None:
        formats = list(FALLBACK_FORMATS)
        try:
            out = subprocess.run(
                [self.app.engine_python or sys.executable, "-c",
                 "from engine.export.formats import FORMAT_NAMES; print('\\n'.join(FORMAT_NAMES))"],
                capture_output=True, text=True, timeout=60)
            names = [line.strip() for line in out.stdout.splitlines() if line.strip()]
            if out.returncode == 0 and names:
                formats = names
        except (OSError, subprocess.SubprocessError):
            pass
        exports = store.list_exports(self.app.store.db(), self.run_id)
        self.post_message(ExportFormats(formats, exports))

    def on_export_formats(self, message: ExportFormats) -> None:
        select = self.query_one("#export-format", Select)
        current = select.value
        select.set_options([(f, f) for f in message.formats])
        select.value = current if current in message.formats else message.formats[0]
        if message.exports:
            lines = Text("Earlier exports of this run:\n", style="bold")
            for record in message.exports[:5]:
                lines.append(f"  {record.format}  it {record.iteration}  {record.rows} rows  "
                             f"{record.path}\n", style="dim")
            self.query_one("#export-history", Static).update(lines)

    @on(Select.Changed, "#export-format")
    @on(Input.Changed, "#export-iteration")
    def retarget(self) -> None:
        """Follow format and iteration in the output path, unless the user typed their own."""
        if not self.available:
            return
        fmt = self.query_one("#export-format", Select).value
        iteration = self.query_one("#export-iteration", Input).value.strip() or "best"
        out = self.query_one("#export-out", Input)
        if out.value == self._last_default:
            out.value = self._last_default = self._default_out(str(fmt), iteration)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export-go":
            self.action_export()
        else:
            self.action_close()

    def _split(self, widget_id: str) -> list[str]:
        value = self.query_one(widget_id, Input).value
        return [t.strip() for t in value.split(",") if t.strip()]

    def action_export(self) -> None:
        if not self.available:
            self.notify("Exporting is disabled: the exporter is not installed", severity="warning")
            return
        if self.running:
            return
        out = self.query_one("#export-out", Input).value.strip()
        if not out:
            self.query_one("#export-output", Static).update(Text("give an output path",
                                                                 style="red"))
            return
        argv = export_command(
            self.app.engine_python or sys.executable, self.app.store.path, self.run_id,
            str(self.query_one("#export-format", Select).value), out,
            self.query_one("#export-iteration", Input).value.strip() or "best",
            correct_only=self.query_one("#export-correct", Checkbox).value,
            refined_only=self.query_one("#export-refined", Checkbox).value,
            prefer_human=self.query_one("#export-human", Checkbox).value,
            force=self.query_one("#export-force", Checkbox).value,
            tags=self._split("#export-tags"), exclude_tags=self._split("#export-exclude-tags"))
        self.running = True
        self.query_one("#export-go", Button).disabled = True
        self.query_one("#export-output", Static).update(Text("exporting…", style="dim"))
        self.run_export(argv)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False, name="exporting")
    def run_export(self, argv: list[str]) -> None:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        except OSError as exc:
            self.post_message(ExportFinished(False, str(exc)))
            return
        output = (done.stdout + done.stderr).strip()
        self.post_message(ExportFinished(done.returncode == 0, output))

    def on_export_finished(self, message: ExportFinished) -> None:
        self.running = False
        self.finished += 1
        self.query_one("#export-go", Button).disabled = False
        style = "green" if message.ok else "red"
        self.query_one("#export-output", Static).update(Text(message.output or "(no output)",
                                                             style=style))
        if message.ok:
            self.notify("Export written", title="Export")
        else:
            self.notify("Export failed: see the dialog", severity="error")

    def action_close(self) -> None:
        self.dismiss(self.finished > 0)

"""The `m` key of the screens that show a run with a student (the dashboard, a distillation, an
ask training): start `undo-tui export-model` detached (undo_tui/model_export.py) in a thread
worker, which posts ModelExported to the screen when the command ends, and say what happened.
The screen has an `exporting_model` flag: set here, cleared by report_model_export, so a second
press while one export runs starts nothing."""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen

from undo_tui.messages import ModelExported


def start_model_export(screen: Screen, run_id: int, store_path, what: str) -> None:
    """`what`: whose student, for the notification ("iteration 2's student", "the student")."""
    from undo_tui.model_export import default_out, export_and_wait

    if screen.exporting_model:
        screen.notify("A model export of this run is already running.", severity="warning")
        return
    screen.exporting_model = True
    out = default_out(store_path, run_id)
    screen.notify(f"Exporting {what} to {out} (HF, GGUF f16 and q8_0, Modelfiles)...",
                  title="Model export")

    def export() -> None:
        done = export_and_wait(store_path, run_id, out, python=screen.app.engine_python)
        screen.post_message(ModelExported(run_id, done))

    screen.run_worker(export, thread=True, exit_on_error=False, name="exporting the model")


def report_model_export(screen: Screen, done, log=None) -> None:
    """Where the files went, or the command's reason; its output into `log` when given."""
    screen.exporting_model = False
    if log is not None:
        for line in done.output.splitlines():
            log.write(Text(line, style="green" if done.ok else "red"))
    if done.ok:
        screen.notify(f"Model written to {done.out} (README.md: the card and the GGUF check)",
                      title="Model exported", timeout=15)
    else:
        screen.notify(f"{done.output.splitlines()[-1] if done.output else 'failed'} "
                      f"(log: {done.log_path})", title="Model not exported", severity="error",
                      timeout=15)

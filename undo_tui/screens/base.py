"""What every screen shares: store access from workers, and worker failures as notifications."""

from __future__ import annotations

from textual.screen import Screen
from textual.worker import WorkerState, get_current_worker

from undo_tui import engine_control
from undo_tui.messages import WorkFailed


class BaseScreen(Screen):
    """A screen whose workers read the store through the app's per-thread connections."""

    HELP_SCOPE = "Screen"

    @property
    def store_path(self):
        return self.app.store.path

    def db(self):
        """This thread's connection to the store (call only from a worker thread)."""
        return self.app.store.db()

    def report_refusal(self, launched: engine_control.Launched, what: str) -> None:
        """From the worker that launched an engine: wait until it has started (or the screen
        goes away) and show what it said if it refused to start. It runs detached, so its
        refusal (a bad config, the preflight's problems) would otherwise reach only its log."""
        worker = get_current_worker()
        refusal = engine_control.refusal_before_start(launched,
                                                      cancelled=lambda: worker.is_cancelled)
        if refusal:
            self.post_message(WorkFailed(what, refusal))

    def on_worker_state_changed(self, event) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"{event.worker.name}: {error}", title="Store error", severity="error",
                        timeout=10)

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(f"{message.what}: {message.error}", severity="error", timeout=20)

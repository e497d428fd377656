"""What every screen shares: store access from workers, and worker failures as notifications."""

from __future__ import annotations

from textual.screen import Screen
from textual.worker import WorkerState

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

    def on_worker_state_changed(self, event) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"{event.worker.name}: {error}", title="Store error", severity="error",
                        timeout=10)

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(f"{message.what}: {message.error}", severity="error", timeout=10)

"""Where stores live by default."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir


def default_store_path() -> Path:
    """The user's default store: $UNDO_TUI_STORE, else the platform data dir."""
    env = os.environ.get("UNDO_TUI_STORE")
    if env:
        return Path(env)
    return Path(user_data_dir("undo-tui", appauthor=False)) / "store.db"

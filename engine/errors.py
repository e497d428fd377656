"""Engine-side user errors (subclasses of the store's UndoError so the CLI prints them cleanly)."""

from store.errors import UndoError


class ConfigError(UndoError):
    """A run configuration is invalid; the message names the file, the key and what is allowed."""


class StageFailed(UndoError):
    """A stage child process failed; the message carries its exit code and log tail."""

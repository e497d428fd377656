"""Errors a user can act on. The CLI prints their message as one line and exits non-zero."""


class UndoError(Exception):
    """Base for every user-facing error: the message names the file, line or field at fault."""


class SchemaTooNew(UndoError):
    """The store was written by a newer undo-tui; opening it here could corrupt it."""


class NotFound(UndoError):
    """A run, dataset or example named by the user does not exist."""


class NotAStore(UndoError):
    """The file is not an undo-tui store (another application's database, or not a database);
    it is refused without a byte being changed."""

"""Export errors a user can act on; subclasses of the store's UndoError so the CLI prints them."""

from store.errors import UndoError


class ExportError(UndoError):
    """An export was asked for something that cannot be done (unknown format, no such iteration)."""


class ExportExists(ExportError):
    """The output path (or its manifest, or its dataset_info.json entry) is already there."""


class ExportEmpty(ExportError):
    """The filters left no rows; the message carries the count after every stage."""


class BadExportFile(ExportError):
    """An export file read back (load_export, reimport) is malformed; the message names the row."""

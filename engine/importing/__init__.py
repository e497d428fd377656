"""Reading datasets from files into examples for the store. Parsers never touch the database."""

from engine.importing.model import (
    BadRow,
    ColumnMapping,
    ImportFailed,
    ParsedExample,
    ParseResult,
)

__all__ = ["BadRow", "ColumnMapping", "ImportFailed", "ParseResult", "ParsedExample"]

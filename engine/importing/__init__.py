"""Reading datasets from files into examples for the store. Parsers never touch the database."""

from engine.importing.model import (
    BadRow,
    ColumnMapping,
    ImportFailed,
    ParsedExample,
    ParseResult,
)
from engine.importing.parse import detect_format, parse_source
from engine.importing.readers import FORMATS
from engine.importing.splits import SPLITS, carve_validation, default_val_size, split_name

__all__ = [
    "FORMATS",
    "SPLITS",
    "BadRow",
    "ColumnMapping",
    "ImportFailed",
    "ParseResult",
    "ParsedExample",
    "carve_validation",
    "default_val_size",
    "detect_format",
    "parse_source",
    "split_name",
]

"""Exports of refined rationales in the formats other trainers read, with provenance.

Formats: trl-messages, trl-prompt-completion (JSONL), hf (save_to_disk), parquet,
llamafactory-alpaca and llamafactory-sharegpt (JSON + dataset_info.json). Every export has a
manifest beside it and is recorded in the store; `load_export` reads any of them back (transfer
runs), `records_from_export` turns one into dataset examples (re-import).
"""

from engine.export.errors import BadExportFile, ExportEmpty, ExportError, ExportExists
from engine.export.filters import STAGES, ExportFilters
from engine.export.formats import FORMAT_NAMES, get_format
from engine.export.loading import detect_format, iter_export, load_export
from engine.export.manifest import find_manifest, manifest_path, read_manifest
from engine.export.reimport import export_answer_type, records_from_export
from engine.export.writer import ExportResult, describe_counts, export_run, resolve_iteration

__all__ = [
    "BadExportFile", "ExportEmpty", "ExportError", "ExportExists", "ExportFilters",
    "ExportResult", "FORMAT_NAMES", "STAGES", "describe_counts", "detect_format",
    "export_answer_type", "export_run", "find_manifest", "get_format", "iter_export",
    "load_export", "manifest_path", "read_manifest", "records_from_export", "resolve_iteration",
]

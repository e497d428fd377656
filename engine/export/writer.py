"""`export_run`: choose the rows, write them in a format with a manifest, record the export.

Usable headless (the `undo-tui export` command) and from the TUI's export dialog; a transfer run
reads the result back with `load_export`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

import store
from engine.export.card import CARD, CardEntry, refresh_folder_card, write_card
from engine.export.errors import ExportEmpty, ExportError
from engine.export.filters import STAGES, ExportFilters, Selection, select_records
from engine.export.formats import Format, get_format
from engine.export.manifest import build_manifest
from engine.export.publish import (Targets, check_free, merged_dataset_info, publish,
                                   staging_dir, targets_for)
from engine.export.storage import write_rows
from engine.files import sha256_of
from store.models import Run

DIRECTORY_DATA_FILES = "*.arrow"  # a save_to_disk directory's data, as the Hub reads it


@dataclass(frozen=True)
class ExportResult:
    export_id: int
    format: str
    run_id: int
    iteration: int
    path: Path
    manifest_path: Path
    rows: int
    counts: dict[str, int]
    manifest: dict = field(repr=False)
    dataset_info_path: Path | None = None
    dataset_info_entry: str | None = None
    card_path: Path | None = None  # README.md; None: a README.md not written by undo-tui is there


def export_run(db: Database, run_id: int, *, iteration: int | str = "best", fmt: str, out: Path,
               filters: ExportFilters | None = None, force: bool = False) -> ExportResult:
    """Export one iteration's training rationales of a run; see ExportFilters for the filters.

    Raises ExportExists (output there and not force), ExportEmpty (the filters left nothing),
    ExportError / NotFound (unknown format, run or iteration). Nothing is left under `out` unless
    the export completed.
    """
    fmt_ = get_format(fmt)
    filters = filters or ExportFilters()
    targets = targets_for(Path(out), fmt_)
    check_free(targets, force)
    run = store.get_run(db, run_id)
    k = resolve_iteration(db, run, iteration)
    selection = select_records(db, run, k, filters)
    if not selection.records:
        raise ExportEmpty(f"nothing to export from run {run.id} iteration {k}: "
                          f"{describe_counts(selection.counts)}")
    iterations = store.list_iterations(db, run.id)
    manifest = build_manifest(
        run=run, dataset=_dataset(db, run), iteration=k, requested=iteration,
        iteration_row=next((it for it in iterations if it.k == k), None), fmt=fmt_.name,
        data_name=targets.data.name, filters=filters, selection=selection, iterations=iterations)
    card = _write(targets, fmt_, selection, manifest, force)
    export_id = store.record_export(db, run_id=run.id, iteration=k, fmt=fmt_.name,
                                    path=str(targets.data), rows=len(selection.records),
                                    manifest=manifest)
    return ExportResult(export_id, fmt_.name, run.id, k, targets.data, targets.manifest,
                        len(selection.records), dict(selection.counts), manifest,
                        targets.dataset_info, targets.entry_name, card)


def resolve_iteration(db: Database, run: Run, iteration: int | str) -> int:
    """`best` is the run's best iteration; a number must be one of the run's iterations."""
    if iteration == "best":
        if run.best_iteration is None:
            raise ExportError(f"run {run.id} has no best iteration yet; pass an iteration number")
        return run.best_iteration
    try:
        k = int(iteration)
    except (TypeError, ValueError):
        raise ExportError(f"iteration must be a number or 'best', not {iteration!r}") from None
    known = [i.k for i in store.list_iterations(db, run.id)]
    if known and k not in known:
        raise store.NotFound(f"run {run.id} has no iteration {k} "
                             f"(it has {', '.join(map(str, known))})")
    return k


def describe_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{stage.replace('_', ' ')} {counts[stage]}"
                     for stage in STAGES if stage in counts)


def _write(targets: Targets, fmt: Format, selection: Selection, manifest: dict,
           force: bool) -> Path | None:
    """Stage and publish the export; returns its dataset card (a directory holds its own, the
    files in a folder share one, rebuilt once the data is in place)."""
    with staging_dir(targets.data) as staging:
        data = staging / targets.data.name
        write_rows(fmt.storage, selection.records, fmt.to_row, data)
        info = None
        if fmt.dataset_info_entry is not None:
            info = staging / "dataset_info.json"
            entry = fmt.dataset_info_entry(targets.data.name)
            manifest["llamafactory"] = {"dataset_info": str(targets.dataset_info),
                                        "dataset_name": targets.entry_name, "entry": entry}
            info.write_text(merged_dataset_info(targets, entry), encoding="utf-8")
        if targets.is_directory:
            _write_json(data / targets.manifest.name, manifest)
            write_card(data, [CardEntry(DIRECTORY_DATA_FILES, manifest)])
            publish(targets, staging, data, None, info, force)
            return targets.data / CARD
        else:
            manifest["data_sha256"] = sha256_of(data)
            staged_manifest = staging / targets.manifest.name
            _write_json(staged_manifest, manifest)
            publish(targets, staging, data, staged_manifest, info, force)
    return refresh_folder_card(targets.data.parent)


def _write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _dataset(db: Database, run: Run):
    return None if run.dataset_id is None else store.get_dataset(db, run.dataset_id)

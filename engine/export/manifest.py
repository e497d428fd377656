"""The manifest written next to every export: what the data is, where it came from, how it was cut.

It names the run (config with secrets removed), teacher and student, the iteration, the teacher's
yield with its outputs not kept per reason, the prompt templates behind the rationales, the row
count after every filter, package versions and the time, plus the data file's sha256 so a reader
can tell a data file that does not belong to it.
"""

from __future__ import annotations

import json
import platform
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from engine.export.errors import BadExportFile
from engine.export.filters import ExportFilters, Selection
from engine.export.redact import scrub, scrub_text
from engine.export.source_license import source_license
from engine.grading.stats import wilson_interval
from store.models import Dataset, Iteration, Run
from store.processes import INTERRUPTED, effective_status, resume_hint

MARKER = "undo_tui_export"
SCHEMA_VERSION = 1
DIR_MANIFEST = "manifest.json"
PACKAGES = ("undo-tui", "datasets", "pyarrow", "transformers", "torch", "peft", "trl")
MAX_LISTED_HASHES = 20


def manifest_path(data_path: Path, is_directory: bool) -> Path:
    """`<out>.manifest.json` beside a file; `manifest.json` inside a directory."""
    data_path = Path(data_path)
    if is_directory:
        return data_path / DIR_MANIFEST
    return data_path.with_name(data_path.name + ".manifest.json")


def find_manifest(data_path: Path) -> Path | None:
    data_path = Path(data_path)
    candidate = manifest_path(data_path, data_path.is_dir())
    return candidate if candidate.is_file() else None


def read_manifest(data_path: Path) -> dict | None:
    """The manifest of an export (None when there is none); a broken one is an error."""
    path = find_manifest(data_path)
    if path is None:
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadExportFile(f"{path}: not a valid manifest ({exc})") from None
    if not isinstance(manifest, dict) or MARKER not in manifest:
        raise BadExportFile(f"{path}: not an undo-tui export manifest (no {MARKER!r} key)")
    return manifest


def _run(run: Run) -> dict:
    """The run as the manifest records it; a run whose engine is gone is `interrupted`."""
    status = effective_status(run)
    out = {"id": run.id, "name": run.name, "kind": run.kind, "status": status,
           "config": scrub(run.config), "best_iteration": run.best_iteration,
           "source_run_id": run.source_run_id, "source_export_id": run.source_export_id}
    if status == INTERRUPTED:
        out["resume"] = resume_hint(run.id)
    return out


def build_manifest(*, run: Run, dataset: Dataset | None, iteration: int, requested: int | str,
                   iteration_row: Iteration | None, fmt: str, data_name: str,
                   filters: ExportFilters, selection: Selection,
                   iterations: Sequence[Iteration] = ()) -> dict:
    """`iterations`: the run's iterations, for the teacher yield of those up to `iteration`."""
    return {
        MARKER: SCHEMA_VERSION,
        "format": fmt,
        "data": data_name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run": _run(run),
        "teacher": scrub_text(run.teacher) if run.teacher else None,
        "student": scrub_text(run.student) if run.student else None,
        "dataset": _dataset(dataset),
        "iteration": iteration,
        "iteration_requested": requested,
        "iteration_metrics": _metrics(iteration_row),
        "teacher_yield": teacher_yield(iterations, iteration),
        "filters": filters.to_dict(),
        "counts": dict(selection.counts),
        "rows": selection.counts.get("written", len(selection.records)),
        "rationale_sources": dict(sorted(Counter(r.source for r in selection.rationales).items())),
        "rationale_iterations": dict(sorted(Counter(str(r.iteration)
                                                    for r in selection.rationales).items())),
        "prompt_templates": prompt_templates(selection),
        "versions": package_versions(),
    }


def _dataset(dataset: Dataset | None) -> dict | None:
    if dataset is None:
        return None
    license_id, license_note = source_license(dataset.source)
    return {"id": dataset.id, "name": dataset.name, "answer_type": dataset.answer_type,
            "source": scrub_text(dataset.source) if dataset.source else None,
            "license": license_id, "license_note": license_note}


def _metrics(row: Iteration | None) -> dict | None:
    """The iteration's figures; every accuracy with n and its 95% Wilson interval."""
    if row is None:
        return None
    out = {"val_accuracy": row.val_accuracy, "test_accuracy": row.test_accuracy,
           "train_size": row.train_size, "checkpoint_path": row.checkpoint_path}
    for split in ("val", "test"):
        counts = row.scored(split)
        if counts is not None:
            out[split] = accuracy_record(counts)
    return out


def accuracy_record(counts) -> dict:
    """Strict (the headline) and flexible accuracy of one split, each with n and its interval."""
    low, high = wilson_interval(counts.correct, counts.total)
    flex_low, flex_high = wilson_interval(counts.flexible_correct, counts.total)
    return {"n": counts.total, "excluded": counts.excluded,  # left out of n by a human
            "strict": {"correct": counts.correct, "accuracy": counts.correct / counts.total,
                       "ci95": [low, high]},
            "flexible": {"correct": counts.flexible_correct,
                         "accuracy": counts.flexible_correct / counts.total,
                         "ci95": [flex_low, flex_high]},
            "format_rate": None if counts.with_answer_line is None
            else counts.with_answer_line / counts.total}


def teacher_yield(iterations: Sequence[Iteration], up_to: int) -> dict[str, dict]:
    """Per iteration up to the exported one (the rows may come from any of them): the teacher's
    kept and attempted examples and its outputs not kept, per reason."""
    return {str(it.k): {"kept": it.teacher_kept, "attempted": it.teacher_attempted,
                        "rejected": it.metrics.get("teacher_rejected", {})}
            for it in iterations if 0 < it.k <= up_to and it.teacher_attempted}


def prompt_templates(selection: Selection) -> list[dict]:
    """Per template name: rows, and the prompt hashes seen (listed up to MAX_LISTED_HASHES).

    A prompt hash covers the exact prompt, so a template filled per example has one per row;
    every row also carries its own `prompt_hash` column.
    """
    hashes: dict[str | None, set] = defaultdict(set)
    rows: Counter = Counter()
    for rationale in selection.rationales:
        rows[rationale.template] += 1
        if rationale.prompt_hash:
            hashes[rationale.template].add(rationale.prompt_hash)
    out = []
    for template in sorted(rows, key=lambda t: (t is None, t or "")):
        seen = sorted(hashes[template])
        out.append({"template": template, "rows": rows[template],
                    "distinct_prompt_hashes": len(seen),
                    "prompt_hashes": seen[:MAX_LISTED_HASHES],
                    "prompt_hashes_truncated": len(seen) > MAX_LISTED_HASHES})
    return out


def package_versions() -> dict[str, str]:
    """Installed versions from package metadata (nothing is imported: torch would cost seconds)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions

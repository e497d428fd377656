"""The dataset card's prose: an export's manifest in words (engine/export/card.py lays it out).

Every accuracy is written with its n and 95% Wilson interval, as the manifest records it.
"""

from __future__ import annotations

from pathlib import PurePath

from engine.export.filters import STAGES

COUNT_WORDS = {"candidates": "kept rationales of the iteration (candidates)",
               "after_excluded": "after leaving out examples a person excluded",
               "after_correct_only": "after keeping only correct rationales",
               "after_refined_only": "after keeping only refined rationales",
               "after_tags": "after the tag filters", "written": "rows written"}


def license_section(manifests: list[dict], known: str | None) -> list[str]:
    lines = ["## License", ""]
    if known:
        lines.append(f"`{known}`, the source dataset's license.")
    else:
        lines.append("Unknown (`license: other`): undo-tui could not tell the source dataset's "
                     "license. Replace it with the right one before publishing.")
    notes = sorted({(m.get("dataset") or {}).get("license_note") or "" for m in manifests} - {""})
    lines += [f"{note[0].upper()}{note[1:]}." for note in notes]
    teachers = sorted({m.get("teacher") or "unknown" for m in manifests})
    lines.append(f"The rationales were written by the teacher model ({', '.join(teachers)}); "
                 "its terms of use may apply to them too.")
    return lines


def export_section(config: str, data_files: str, manifest: dict) -> list[str]:
    run = manifest.get("run") or {}
    dataset = manifest.get("dataset") or {}
    lines = [f"## Config `{config}`", "",
             f"- Data: `{data_files}` ({manifest.get('format')}), {manifest.get('rows')} rows, "
             f"split `{manifest['filters']['split']}`.",
             f"- Source dataset: `{dataset.get('name')}` (answers: {dataset.get('answer_type')}), "
             f"imported from {_source(dataset.get('source'))}.",
             f"- Run: {run.get('id')} `{run.get('name')}` ({run.get('kind')}, {run.get('status')}),"
             f" best iteration {run.get('best_iteration')}.",
             f"- Teacher: `{manifest.get('teacher')}`; student: `{manifest.get('student')}`.",
             f"- Iteration: {manifest.get('iteration')} (asked for: "
             f"{manifest.get('iteration_requested')}); {_accuracy(manifest)}.",
             f"- Filters: {_filters(manifest['filters'])}.",
             f"- Counts: {_counts(manifest.get('counts') or {})}."]
    excluded = _excluded(manifest.get("counts") or {})
    if excluded is not None:
        lines.append(f"- Exclusions: {excluded} example(s) a person excluded were left out.")
    yields = manifest.get("teacher_yield") or {}
    if yields:
        lines.append("- Teacher yield: " + "; ".join(
            f"iteration {k}: kept {y.get('kept')} of {y.get('attempted')}"
            + (f" (not kept: {_reasons(y['rejected'])})" if y.get("rejected") else "")
            for k, y in sorted(yields.items(), key=lambda item: int(item[0]))) + ".")
    sources = manifest.get("rationale_sources") or {}
    lines.append("- Rationales by source: "
                 + ", ".join(f"{name} {count}" for name, count in sources.items()) + ".")
    lines.append(f"- Exported {manifest.get('created_at')} by undo-tui "
                 f"{(manifest.get('versions') or {}).get('undo-tui', '?')}.")
    return lines + [""]


def _source(source: str | None) -> str:
    """A built-in task as recorded; a file by its format and name (a card is published, and
    this machine's folders are nobody's business)."""
    if not source:
        return "an unrecorded source"
    kind, _, path = source.partition(":")
    if kind == "builtin" or not path.startswith(("/", "~")):
        return f"`{source}`"
    return f"a {kind} file `{PurePath(path).name}`"


def _accuracy(manifest: dict) -> str:
    metrics = manifest.get("iteration_metrics") or {}
    parts = []
    for split in ("val", "test"):
        record = metrics.get(split)
        if record:
            strict = record["strict"]
            low, high = strict["ci95"]
            parts.append(f"the student's strict {split} accuracy {strict['accuracy']:.1%} "
                         f"[{low:.1%}–{high:.1%}] n={record['n']}")
    return ", ".join(parts) or "the student was not evaluated at this iteration"


def _filters(filters: dict) -> str:
    words = [f"split {filters['split']}",
             "correct rationales only" if filters.get("correct_only") else "correct or not",
             "refined only" if filters.get("refined_only") else "initial and refined",
             "human edits preferred" if filters.get("prefer_human") else "teacher's text"]
    if filters.get("tags"):
        words.append("tags " + ", ".join(filters["tags"]))
    if filters.get("exclude_tags"):
        words.append("without tags " + ", ".join(filters["exclude_tags"]))
    return "; ".join(words)


def _counts(counts: dict) -> str:
    return ", ".join(f"{COUNT_WORDS[stage]} {counts[stage]}" for stage in STAGES
                     if stage in counts)


def _excluded(counts: dict) -> int | None:
    if "candidates" not in counts or "after_excluded" not in counts:
        return None
    return counts["candidates"] - counts["after_excluded"]


def _reasons(rejected: dict) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in sorted(rejected.items()))

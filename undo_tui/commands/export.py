"""`undo-tui export RUN`: write a run's refined rationales in a trainer's format, with a manifest.

Prints the row count after every filter, so a user can see which filter removed what, and the paths
written. The engine's export package is imported inside `run` (it pulls in `datasets` when writing).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from undo_tui.commands.run_arg import add_run_argument


def add_parser(subparsers) -> argparse.ArgumentParser:
    from engine.export.formats import FORMAT_NAMES  # names only: datasets is not imported

    parser = subparsers.add_parser(
        "export",
        help="export a run's training rationales (TRL, HF datasets, Parquet, LLaMA-Factory)",
        description="Export the rationales one iteration of a run trained on, with provenance "
                    "columns and a manifest beside the data. Excluded examples are always left "
                    "out.")
    add_run_argument(parser, "run_id")
    parser.add_argument("--iteration", default="best", type=_iteration, metavar="K|best",
                        help="iteration whose training set to export (default: best)")
    parser.add_argument("--format", dest="fmt", required=True, choices=FORMAT_NAMES,
                        help="the trainer's format: TRL messages or prompt-completion JSONL, a "
                             "Hugging Face datasets directory, Parquet, LLaMA-Factory "
                             "alpaca/sharegpt JSON")
    parser.add_argument("--out", required=True, type=Path, metavar="PATH",
                        help="output file (a directory for --format hf)")
    add_filter_arguments(parser)
    parser.add_argument("--split", default="train", choices=("train", "val", "test"),
                        help="whose rationales to export (default: train, what the student "
                             "trained on)")
    parser.add_argument("--force", action="store_true", help="replace an existing output")
    return parser


def add_filter_arguments(parser) -> None:
    """Which rationales go in: shared with `undo-tui transfer --from-run`."""
    parser.add_argument("--correct-only", action="store_true",
                        help="only rationales whose graded answer matched the gold answer")
    parser.add_argument("--refined-only", action="store_true",
                        help="only teacher-refined rationales (and human edits of them)")
    parser.add_argument("--no-prefer-human", dest="prefer_human", action="store_false",
                        help="use the teacher's version where a human edited a rationale")
    parser.add_argument("--tag", dest="tags", action="append", default=[], metavar="T",
                        help="only examples with this tag (repeat: any of them)")
    parser.add_argument("--exclude-tag", dest="exclude_tags", action="append", default=[],
                        metavar="T", help="leave out examples with this tag (repeatable)")


def _iteration(text: str) -> int | str:
    if text == "best":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'best', not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("an iteration number is >= 0")
    return value


def run(args) -> int:
    import store
    from engine.export import ExportFilters, export_run

    db = store.open_store(args.store)
    try:
        filters = ExportFilters(split=args.split, correct_only=args.correct_only,
                                refined_only=args.refined_only, prefer_human=args.prefer_human,
                                tags=tuple(args.tags), exclude_tags=tuple(args.exclude_tags))
        result = export_run(db, args.run_id, iteration=args.iteration, fmt=args.fmt, out=args.out,
                            filters=filters, force=args.force)
    finally:
        db.close()
    print_result(result)
    return 0


def print_result(result) -> None:
    from engine.export import STAGES

    manifest = result.manifest
    print(f"Exported run {result.run_id} ({manifest['run']['name']}) iteration {result.iteration} "
          f"as {result.format}: {result.rows} rows")
    if manifest["run"].get("resume"):
        print(f"  note: run {result.run_id} is interrupted (its engine process is gone); this export "
              f"holds what it finished. Continue it with `{manifest['run']['resume']}`")
    for stage in STAGES:
        print(f"  {stage.replace('_', ' '):<20} {result.counts[stage]:>8}")
    print(f"data:         {result.path}")
    print(f"manifest:     {result.manifest_path}")
    if result.dataset_info_path is not None:
        print(f"dataset_info: {result.dataset_info_path} (dataset {result.dataset_info_entry!r})")
    if result.card_path is not None:
        from engine.export.card import upload_command

        folder = result.card_path.parent
        print(f"card:         {result.card_path} (publish the folder: "
              f"`{upload_command(folder.name, str(folder))}`)")
    else:
        print(f"card:         not written: {result.path.parent / 'README.md'} is not undo-tui's")

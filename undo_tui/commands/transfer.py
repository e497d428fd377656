"""`undo-tui transfer`: train a different student on refined data (an export, or a run's iteration)
and evaluate it beside the source student; recorded as a run of kind "transfer".

The run goes through the same supervisor as `undo-tui run`, so `stop`, `resume` (also after
kill -9) and `status` work on it. Training knobs default to the source run's config; flags and
a `--config` TOML override them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from undo_tui.commands.export import _iteration, add_filter_arguments
from undo_tui.commands.run import add_preflight_flag
from undo_tui.commands.run_arg import add_run_argument


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "transfer", help="train another student on exported or a run's refined data",
        description="Train STUDENT on the rationales of an export (--from-export) or of one "
                    "iteration of a run (--from-run, exported beside the store first), with the "
                    "loop's training and evaluation code. Iteration 0 evaluates the untrained "
                    "student, iteration 1 the trained one, on the source dataset's val (and "
                    "test) split. Stop with `undo-tui stop RUN`, continue with `undo-tui "
                    "resume RUN`.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-export", type=Path, metavar="PATH",
                        help="an export written by `undo-tui export` (its manifest beside it)")
    add_run_argument(source, "--from-run")
    parser.add_argument("--iteration", type=_iteration, default=None, metavar="K|best",
                        help="with --from-run: the iteration whose training set to use "
                             "(default: best)")
    parser.add_argument("--student", required=True, metavar="MODEL",
                        help="the new student: a Hugging Face model directory, a .gguf file, "
                             "or a packaged model name (smollm2)")
    parser.add_argument("--dataset", metavar="NAME",
                        help="with --from-export: the store's dataset the rows belong to "
                             "(default: the one the manifest names)")
    parser.add_argument("--name", help="run name (default: SOURCE-kK-to-STUDENT)")
    parser.add_argument("--config", type=Path, metavar="TOML",
                        help="overrides: [training], [evaluation], [student] system_prompt, "
                             "[dataset] val/test limits, [run] name/seed")
    parser.add_argument("--epochs", type=int, help="training epochs (default: the source's)")
    parser.add_argument("--lr", type=float, help="learning rate (default: the source's)")
    parser.add_argument("--lora-r", type=int, help="LoRA rank (default: the source's)")
    parser.add_argument("--lora-alpha", type=int, help="LoRA alpha (default: the source's)")
    parser.add_argument("--full-finetune", action="store_true",
                        help="train every weight instead of a LoRA adapter")
    parser.add_argument("--seed", type=int, help="training seed (default: the source's)")
    add_filter_arguments(parser.add_argument_group(
        "filters (with --from-run; as in `undo-tui export`)"))
    add_preflight_flag(parser)
    parser.add_argument("--create-only", action="store_true",
                        help="record the run and print its id without running it")
    return parser


def run(args) -> int:
    import store
    from undo_tui.commands.run import drive_in_terminal

    check_arguments(args)
    db = store.open_store(args.store)
    try:
        run_id = create(db, args)
        summary = store.get_run(db, run_id)
    finally:
        db.close()
    print(f"run {run_id} created: {summary.name} (kind transfer, student {summary.student})",
          flush=True)
    if args.create_only:
        return 0
    return drive_in_terminal(args.store, run_id)


def check_arguments(args) -> None:
    from store.errors import UndoError

    if args.from_export is not None:
        if args.iteration is not None:
            raise UndoError("--iteration goes with --from-run; an export holds one iteration")
        used = [flag for flag, on in (("--correct-only", args.correct_only),
                                      ("--refined-only", args.refined_only),
                                      ("--no-prefer-human", not args.prefer_human),
                                      ("--tag", args.tags), ("--exclude-tag", args.exclude_tags))
                if on]
        if used:
            raise UndoError(f"{', '.join(used)} go with --from-run; an export was filtered when "
                            "it was written")
    elif args.dataset is not None:
        raise UndoError("--dataset goes with --from-export; a run knows its dataset")


def overrides(args):
    from engine.loop.transfer import Overrides

    return Overrides(name=args.name, config_path=args.config, epochs=args.epochs, lr=args.lr,
                     lora=False if args.full_finetune else None, lora_r=args.lora_r,
                     lora_alpha=args.lora_alpha, seed=args.seed)


def create(db, args) -> int:
    """Validate everything (config, student) before anything is written, then record the run."""
    from engine.export import ExportFilters
    from engine.loop import transfer
    from undo_tui.commands.run import check_components

    if args.from_export is not None:
        data = transfer.data_from_export(db, args.from_export, dataset=args.dataset)
        source_name = (data.manifest.get("run") or {}).get("name") or data.path.stem
        config = transfer.transfer_config(
            data.base_config, data.dataset_name, args.student, overrides(args),
            transfer.default_name(source_name, data.iteration, args.student),
            source=f"transfer from {data.path}")
        return transfer.create_transfer_run(
            db, args.store, data, config, check=lambda: check_components(db, args.store, config,
                                                                         args))
    source, k = transfer.source_iteration(db, args.from_run,
                                          args.iteration if args.iteration is not None else "best")
    dataset = store_dataset_name(db, source)
    config = transfer.transfer_config(
        source.config, dataset, args.student, overrides(args),
        transfer.default_name(source.name, k, args.student),
        source=f"transfer from run {source.id} iteration {k}")
    check_components(db, args.store, config, args)
    filters = ExportFilters(correct_only=args.correct_only, refined_only=args.refined_only,
                            prefer_human=args.prefer_human, tags=tuple(args.tags),
                            exclude_tags=tuple(args.exclude_tags))
    path = transfer.export_for_transfer(db, args.store, source.id, k, filters)
    print(f"exported run {source.id} iteration {k} to {path}", flush=True)
    data = transfer.data_from_export(db, path)
    return transfer.create_transfer_run(db, args.store, data, config)


def store_dataset_name(db, run) -> str:
    import store
    from store.errors import UndoError

    if run.dataset_id is None:
        raise UndoError(f"run {run.id} has no dataset; a transfer evaluates on its val split")
    return store.get_dataset(db, run.dataset_id).name

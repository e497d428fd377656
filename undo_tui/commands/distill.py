"""`undo-tui distill CONFIG`: distil a student from a same-tokenizer teacher as a run of its own
(kind 'distill'), trained, measured and evaluated in this terminal; stop with `undo-tui stop RUN`
or Ctrl-C, continue with `undo-tui resume RUN` (from the last training checkpoint)."""

from __future__ import annotations

from pathlib import Path


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "distill", help="distil a student from a same-tokenizer teacher (a run)",
        description="Create a distillation run from CONFIG (TOML: [distill] the pair, the data "
                    "and the measurements; [training] the trainer, any objective: sft, kd, "
                    "on_policy, pcl; `undo-tui config check CONFIG`, `undo-tui config schema "
                    "--distill`) and run it in this terminal: per-step loss, KL to the teacher "
                    "on held-out solutions, strict accuracy at the end.")
    parser.add_argument("config", type=Path, help="distillation configuration (TOML)")
    parser.add_argument("--create-only", action="store_true",
                        help="record the run and print its id without training")
    return parser


def run(args) -> int:
    from engine.distill.config import load_distill_config
    from engine.distill.run import create_distill, drive_distill
    from undo_tui.commands.run import record_and_drive

    config = load_distill_config(args.config)
    return record_and_drive(
        args.store, lambda db: create_distill(db, args.store, config),
        lambda run_id: (f"run {run_id} created: {config.distill.name} (kind distill, objective "
                        f"{config.training.objective})"),
        drive_distill, args.create_only)

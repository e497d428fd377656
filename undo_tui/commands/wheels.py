"""`undo-tui wheels sweep CONFIG`: Training Wheels at several teacher budgets per policy, stored
as a run (kind 'wheels'); stop with `undo-tui stop RUN` or Ctrl-C, continue with `undo-tui resume
RUN` (finished points are kept)."""

from __future__ import annotations

from pathlib import Path


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "wheels", help="Training Wheels: the student asks a same-tokenizer teacher for tokens",
        description="Assisted decoding under a budget on teacher use (Training Wheels).")
    actions = parser.add_subparsers(dest="wheels_action", metavar="ACTION", required=True,
                                    help="sweep: evaluate policies at budgets (a run)")
    sweep = actions.add_parser(
        "sweep", help="evaluate a split at several budgets for each policy (a run)",
        description="Create a sweep from CONFIG (TOML: [sweep] [models] ...; see "
                    "sample_runs/wheels/wheels-arith.toml, `undo-tui config check CONFIG`, "
                    "`undo-tui config schema --sweep`) and compute its points in this terminal. "
                    "Each finished point is stored; resume skips them.")
    sweep.add_argument("config", type=Path, help="sweep configuration (TOML)")
    sweep.add_argument("--create-only", action="store_true",
                       help="record the sweep and print its id without computing it")
    return parser


def run(args) -> int:
    import store
    from engine.wheels.config import load_sweep_config
    from engine.wheels.sweep import create_sweep

    config = load_sweep_config(args.config)
    db = store.open_store(args.store)
    try:
        run_id = create_sweep(db, args.store, config)
        points = len(config.points())
    finally:
        db.close()
    print(f"run {run_id} created: {config.sweep.name} (kind wheels, {points} points)", flush=True)
    if args.create_only:
        return 0
    return drive_in_terminal(args.store, run_id)


def drive_in_terminal(store_path: Path, run_id: int) -> int:
    """Compute a sweep's pending points here, with a live progress line."""
    from engine.wheels.sweep import drive_sweep
    from undo_tui.commands.run import drive_in_terminal as drive_here

    return drive_here(store_path, run_id, drive=drive_sweep)

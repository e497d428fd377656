"""`undo-tui run CONFIG`: start the UNDO loop headless, with live progress in the terminal."""

from __future__ import annotations

from pathlib import Path

from undo_tui.commands.run_arg import add_run_argument


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "run", help="run the UNDO loop from a TOML config (headless)",
        description="Create a run from CONFIG and drive it to the end in this terminal. "
                    "Each stage runs in its own child process; stop it with `undo-tui stop RUN` "
                    "(or Ctrl-C) and continue with `undo-tui resume RUN`.")
    parser.add_argument("config", type=Path, nargs="?", help="run configuration (TOML)")
    add_run_argument(parser, "--baseline-for",
                     help="instead: an equal-budget standard-distillation baseline of RUN "
                          "(its id or name)")
    add_run_argument(parser, "--from-run",
                     help="start from RUN's curated data (its id or name; its exclusions, tags, "
                          "notes and rationale edits; RUN must be on the config's dataset) and "
                          "record it as the new run's source")
    parser.add_argument("--create-only", action="store_true",
                        help="record the run and print its id without running it")
    add_preflight_flag(parser)
    return parser


def add_preflight_flag(parser) -> None:
    parser.add_argument("--no-preflight", action="store_true",
                        help="skip the checks of teacher, student, dataset and disk made before "
                             "anything is recorded (e.g. to record a run offline)")


def check_components(db, store_path: Path, config, args) -> None:
    """The preflight checks (engine.loop.preflight), unless --no-preflight."""
    if not args.no_preflight:
        from engine.loop.preflight import preflight

        preflight(db, store_path, config)


def run(args) -> int:
    import store
    from engine.config import load_config
    from engine.loop.baseline import baseline_config
    from engine.loop.supervisor import create_run
    from store.errors import UndoError

    db = store.open_store(args.store)
    try:
        if args.baseline_for is not None:
            config, source = baseline_config(db, args.baseline_for), args.baseline_for
        elif args.config is not None:
            config, source = load_config(args.config), None
        else:
            raise UndoError("give a CONFIG file, or --baseline-for RUN")
        check_components(db, args.store, config, args)
        curated = curation_line(db, args, config)
        if args.from_run is not None:
            source = args.from_run
        run_id = create_run(db, args.store, config, source_run_id=source)
        print(f"run {run_id} created: {config.run.name} (kind {config.run.kind})", flush=True)
        if curated:
            print(f"run {run_id} {curated}", flush=True)
    finally:
        db.close()
    if args.create_only:
        return 0
    return drive_in_terminal(args.store, run_id)


def curation_line(db, args, config) -> str | None:
    """What curated data the new run starts with (engine.loop.curation); with --from-run, the
    check that its source is on the same dataset, before anything is recorded."""
    from engine.loop.curation import check_from_run, describe_dataset_curation
    from store.errors import UndoError

    if args.from_run is not None:
        if args.baseline_for is not None:
            raise UndoError("--from-run and --baseline-for: give one (a baseline takes its "
                            "source run's data already)")
        return check_from_run(db, args.from_run, config.dataset.name)
    if config.run.kind != "undo":
        return None
    return "starts with the curated data of its " + describe_dataset_curation(
        db, config.dataset.name)


def record_and_drive(store_path: Path, create, describe, drive, record_only: bool) -> int:
    """The life of a run computed in this process (a sweep, a distillation, ask training):
    `create(db)` records it and returns its id, `describe(run_id)` is the line printed, then it
    is driven here by `drive` unless `record_only`."""
    import store

    db = store.open_store(store_path)
    try:
        run_id = create(db)
    finally:
        db.close()
    print(describe(run_id), flush=True)
    if record_only:
        return 0
    return drive_in_terminal(store_path, run_id, drive=drive)


def drive_in_terminal(store_path: Path, run_id: int, drive=None) -> int:
    """Drive a run here with a live progress line; `drive` defaults to the UNDO supervisor (a
    Training Wheels sweep passes its own)."""
    import store
    from engine.errors import StageFailed
    from undo_tui.commands.progress_line import ProgressLine

    if drive is None:
        from engine.loop.supervisor import drive

    db = store.open_store(store_path)
    line = ProgressLine(db, run_id)
    try:
        final = drive(store_path, run_id, echo=line.echo, tick=line.tick)
    except StageFailed as exc:
        line.echo(f"run {run_id} failed: {exc}")
        return 1
    except KeyboardInterrupt:
        store.request_stop(db, run_id)
        line.echo(f"interrupted: run {run_id} will stop; continue with `undo-tui resume {run_id}`")
        return 130
    finally:
        db.close()
    from undo_tui.widgets.render import run_outcome

    line.echo(f"run {run_id} {run_outcome(final.status, final.stop_reason)}")
    return 0 if final.status in ("finished", "stopped") else 1


"""`undo-tui status [RUN]`: every run in a line, or one run's iterations in a table."""

from __future__ import annotations

from undo_tui.commands.run_arg import RUN_HELP, add_run_argument


def add_parser(subparsers):
    parser = subparsers.add_parser("status", help="show runs, or one run's iterations")
    add_run_argument(parser, "run_id", nargs="?", help=RUN_HELP + "; without it, every run")
    return parser


def _pct(value):
    return "-" if value is None else f"{value:6.1%}"


def run(args) -> int:
    import store

    db = store.open_store(args.store)
    try:
        if args.run_id is None:
            runs = store.list_runs(db)
            if not runs:
                print("no runs in this store")
            for s in runs:
                r = s.run
                print(f"{r.id:>4}  {r.status:<9} {r.kind:<9} {r.name:<24} "
                      f"dataset={s.dataset_name} iterations={s.iterations} "
                      f"best_val={_pct(s.best_val_accuracy).strip()}")
            return 0
        r = store.get_run(db, args.run_id)
        print(f"run {r.id} {r.name}: {r.status}" + (f" - {r.stage}" if r.stage else "")
              + (f" ({r.stop_reason})" if r.stop_reason else ""))
        if r.error:
            print(f"error: {r.error}")
        print("   k  status   train  kept/tried     val    test  format  fixed  regr   loss")
        for it in store.list_iterations(db, r.id):
            m = it.metrics
            tried = f"{it.teacher_kept}/{it.teacher_attempted}" if it.teacher_attempted else "-"
            best = "*" if it.is_best else " "
            loss = "-" if it.train_loss is None else f"{it.train_loss:.3f}"
            fmt = m.get("val_format")
            print(f"{best}{it.k:>3}  {it.status:<7} {it.train_size or '-':>6} {tried:>11} "
                  f"{_pct(it.val_accuracy)} {_pct(it.test_accuracy)} {_pct(fmt)} "
                  f"{m.get('val_fixed', '-'):>6} {m.get('val_regressed', '-'):>5} {loss:>6}")
        progress = store.latest_progress(db, r.id)
        if r.status in ("running", "stopping") and progress:
            from undo_tui.commands.progress_line import format_progress

            for event in progress.values():
                print("  " + format_progress(event))
    finally:
        db.close()
    return 0

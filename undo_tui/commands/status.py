"""`undo-tui status [RUN]`: every run in a line, or one run's iterations in a table.

Every accuracy carries its n and 95% Wilson interval; every change between iterations its exact
McNemar p-value, so a reader can tell noise from progress. Tables are rendered by rich.
"""

from __future__ import annotations

from undo_tui.commands.run_arg import RUN_HELP, add_run_argument


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "status", help="show runs, or one run's iterations",
        description="Without RUN: every run in a line. With RUN: its iterations with strict and "
                    "flexible accuracy (95%% Wilson intervals), format compliance and per-example "
                    "changes with exact McNemar p-values.")
    add_run_argument(parser, "run_id", nargs="?", help=RUN_HELP + "; without it, every run")
    return parser


def run(args) -> int:
    import store

    db = store.open_store(args.store)
    try:
        if args.run_id is None:
            _print_runs(store.list_runs(db), args.store)
        else:
            _print_run(db, store.get_run(db, args.run_id), args.store)
    finally:
        db.close()
    return 0


from store.processes import INTERRUPTED, effective_status, resume_hint  # noqa: E402  (no engine)


def _console():
    """rich at the terminal's width; piped output is not squeezed to 80 columns."""
    import sys

    from rich.console import Console

    return Console(highlight=False, markup=False, width=None if sys.stdout.isatty() else 200)


def _print_runs(runs, store_path) -> None:
    from rich.table import Table, box

    from engine.grading.stats import format_accuracy

    if not runs:
        print("no runs in this store")
        return
    resumes = []
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in (("run", "right"), ("status", "left"), ("kind", "left"),
                          ("name", "left"), ("dataset", "left"), ("iterations", "right"),
                          ("best val (strict, 95% CI)", "left")):
        table.add_column(name, justify=justify, no_wrap=True)
    for s in runs:
        r = s.run
        best = "-"
        if s.best_val_total:
            best = f"k={r.best_iteration}: " + format_accuracy(
                s.best_val_correct, s.best_val_total, excluded=s.best_val_excluded)
            if r.best_beats_base is False:
                best += " (not beyond base)"
        status = effective_status(r)
        table.add_row(str(r.id), status, r.kind, r.name, s.dataset_name or "-",
                      str(s.iterations), best)
        if status == INTERRUPTED:
            resumes.append(f"run {r.id} is interrupted (its engine process is gone); continue "
                           f"with `{resume_hint(r.id, store_path)}`")
    console = _console()
    console.print(table)
    for line in resumes:
        console.print(line)


def _print_run(db, r, store_path) -> None:
    import store

    console = _console()
    status = effective_status(r)
    console.print(f"run {r.id} {r.name}: {status}" + (f" - {r.stage}" if r.stage else ""))
    if status == INTERRUPTED:
        console.print(f"its engine process (pid {r.pid}) is gone; continue with "
                      f"`{resume_hint(r.id, store_path)}`")
    if r.stop_reason:
        console.print(f"stop reason: {r.stop_reason}")
    if r.error:
        console.print(f"error: {r.error}")
    if r.kind == "wheels":  # a sweep has points, not iterations
        from engine.wheels.report import sweep_lines

        for line in sweep_lines(db, r.id):
            console.print(line, markup=False)
        return
    if r.kind == "distill":  # a distillation has steps and a result, not iterations
        from engine.distill.report import outcome_lines
        from store import distill as store_distill

        steps = store_distill.loss_history(db, r.id)
        for line in outcome_lines(store_distill.get_outcome(db, r.id),
                                  store_distill.kl_history(db, r.id), steps[-1] if steps else None):
            console.print(line, markup=False)
        return
    if r.kind == "ask":  # ask training: two stages of steps and an asker, not iterations
        from engine.wheels.ask_report import outcome_lines as ask_lines
        from store import ask as store_ask

        for line in ask_lines(store_ask.get_outcome(db, r.id), store_ask.warm_history(db, r.id),
                              store_ask.pcl_history(db, r.id)):
            console.print(line, markup=False)
        return
    iterations = store.list_iterations(db, r.id)
    claimed, verdicts = verdict_lines(db, r, iterations)
    console.print(iteration_table(iterations, store.changes_by_iteration(db, r.id), claimed))
    for line in rejection_lines(iterations):
        console.print(line)
    for line in verdicts:
        console.print(line)
    progress = store.latest_progress(db, r.id)
    if r.status in store.runs.ACTIVE_STATUSES and progress:
        from undo_tui.commands.progress_line import format_progress

        for event in progress.values():
            console.print("  " + format_progress(event))


def iteration_table(iterations, changes, claimed: bool = True):
    """One row per iteration: strict accuracy with its interval is the headline column. The
    best is starred only when `claimed` (it beat the untrained student by the run's rule)."""
    from rich.table import Table, box

    from engine.grading.stats import format_p, mcnemar_exact, wilson_interval

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, caption=(
        "strict: the value after an explicit answer marker; flexible: else the last number; "
        "95% CI: Wilson interval; p: exact McNemar test of fixed/regressed vs the previous "
        "iteration; loss: mean training loss"), caption_justify="left")
    for name in ("k", "status", "train", "kept/tried", "val strict", "95% CI", "n", "flexible",
                 "format", "fixed/regr", "p", "test strict", "95% CI", "n", "loss"):
        table.add_column(name, justify="left" if name in ("status", "95% CI") else "right",
                         no_wrap=True)

    def accuracy(counts) -> tuple[str, str, str]:
        if counts is None:
            return "-", "", ""
        low, high = wilson_interval(counts.correct, counts.total)
        n = str(counts.total) + (f", {counts.excluded} excluded" if counts.excluded else "")
        return _pct(counts.correct, counts.total), f"{low:.1%}-{high:.1%}", n

    for it in iterations:
        tried = f"{it.teacher_kept}/{it.teacher_attempted}" if it.teacher_attempted else "-"
        change, p = "-", ""
        if it.k in changes:
            fixed, regressed = changes[it.k].fixed, changes[it.k].regressed
            change = f"+{fixed}/-{regressed}"
            p = format_p(mcnemar_exact(fixed, regressed)).removeprefix("p=")
        val = it.scored("val")
        table.add_row(
            f"{it.k}{'*' if it.is_best and claimed else ''}", it.status, str(it.train_size or "-"), tried,
            *accuracy(val), _pct(val.flexible_correct, val.total) if val else "-",
            _pct(val.with_answer_line, val.total) if val and val.with_answer_line is not None
            else "-", change, p, *accuracy(it.scored("test")),
            "-" if it.train_loss is None else f"{it.train_loss:.3f}")
    return table


def verdict_lines(db, run, iterations) -> tuple[bool, list[str]]:
    """What the numbers allow a reader to claim: whether the best may be called best (it beat
    the untrained student), the baselines, and the noise floor; as (claimed, lines)."""
    import store
    from engine.grading.stats import (DEFAULT_ALPHA, beats_base, compare, format_p,
                              min_discordant_for_significance, smallest_detectable_points)

    alpha = run.config.get("loop", {}).get("alpha", DEFAULT_ALPHA)
    lines, claimed = [], run.best_beats_base is not False
    best = next((it for it in iterations if it.is_best), None)
    base = next((it for it in iterations if it.k == 0 and it.scored("val")), None)
    if best is not None and base is not None and best.scored("val"):
        change = store.transitions(db, run.id, "val", 0, best.k)
        vs_base = compare(change.fixed, change.regressed, alpha)
        counts = (f"{vs_base.fixed} fixed, {vs_base.regressed} regressed, "
                  f"McNemar {format_p(vs_base.p_value)}")
        claimed = beats_base(run.best_beats_base, vs_base.fixed, vs_base.regressed, alpha)
        if claimed:
            lines.append(f"best: iteration {best.k}, better than the untrained student ({counts})")
        else:
            lines.append(f"no trained iteration beats the untrained student beyond noise "
                         f"(best trained: iteration {best.k}; {counts})")
    lines.extend(baseline_lines(db, run, best, alpha))
    val = next((it.scored("val") for it in iterations if it.scored("val")), None)
    if val is not None:
        points = smallest_detectable_points(val.total, alpha)
        if points is not None and points > 2:
            lines.append(f"warning: {val.total} validation examples detect changes of "
                         f"{points:.1f} points at best ({min_discordant_for_significance(alpha)} "
                         f"examples fixed, none regressed, at alpha {alpha}); smaller changes "
                         "are within noise")
    return claimed, lines


def baseline_lines(db, run, best, alpha: float) -> list[str]:
    """Each equal-budget baseline of this run at the best iteration's k, with McNemar."""
    import store
    from engine.grading.stats import compare, format_accuracy, format_p

    if best is None:
        return []
    lines = []
    for summary in store.list_runs(db):
        baseline = summary.run
        if baseline.kind != "baseline" or baseline.source_run_id != run.id:
            continue
        same_k = next((it for it in store.list_iterations(db, baseline.id)
                       if it.k == best.k and it.scored("val")), None)
        if same_k is None:
            lines.append(f"baseline run {baseline.id} has no evaluated iteration {best.k} yet")
            continue
        counts = same_k.scored("val")
        change = store.transitions_across(db, "val", (baseline.id, best.k), (run.id, best.k))
        verdict = compare(change.fixed, change.regressed, alpha)
        lines.append(f"equal-budget baseline run {baseline.id} at iteration {best.k}: "
                     f"{format_accuracy(counts.correct, counts.total, excluded=counts.excluded)}"
                     "; this run "
                     f"+{verdict.fixed}/-{verdict.regressed}, McNemar "
                     f"{format_p(verdict.p_value)} ({verdict.verdict()})")
    return lines


def _pct(part: int, total: int) -> str:
    return f"{part / total:.1%}" if total else "-"


def rejection_lines(iterations) -> list[str]:
    """Per iteration with a teacher pass, its outputs not kept per reason (printed after the table).

    "teacher rejected (k=1): not_correct 12, talks_about_student 3"; nothing for an iteration
    that rejected nothing or was recorded before reasons were.
    """
    import store

    return [f"teacher rejected (k={it.k}): {store.describe_rejections(rejected)}"
            for it in iterations if (rejected := it.metrics.get("teacher_rejected"))]

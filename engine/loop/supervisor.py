"""The supervisor: walks a run through its iterations, one child process per heavy stage.

Each stage (teacher generation, training, evaluation) runs in its own child process so that GPU
memory is returned between stages and a crash in one is reported with its log tail instead of
taking the run down silently. Every step's state lives in the store, so the supervisor can be
killed at any moment and `resume` continues from the last completed stage: stages are idempotent
(the teacher cache, INSERT OR IGNORE rows, evaluations that only run missing examples).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import store
from engine.config import RunConfig, stored_config
from engine.errors import StageFailed
from engine.grading.stats import format_accuracy, format_p
from engine.loop.convergence import Decision, Rule, Score, decide
from engine.loop.failures import last_event_id, stage_error
from engine.loop.launcher import stage_command
from engine.loop.metrics import finalize_iteration
from engine.loop.signals import StopSignals
from engine.loop.stage_main import EXIT_STOPPED, die_with_parent
from engine.tracking import log_iteration
from store.errors import UndoError
from store.processes import process_start, refuse_second_driver

STAGES = ("teacher", "train", "evaluate")
Echo = Callable[[str], None]
Tick = Callable[[], None]  # called about twice a second while a stage runs (live progress)


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def log_path_for(store_path: Path, run_id: int) -> Path:
    return Path(store_path).resolve().parent / "logs" / f"run-{run_id}.log"


def create_run(db, store_path: Path, config: RunConfig, *, kind: str | None = None,
               source_run_id: int | None = None, source_export_id: int | None = None) -> int:
    """Record a new run with its validated config; nothing runs yet."""
    dataset = store.get_dataset(db, config.dataset.name)
    if dataset.answer_type == "text":
        raise UndoError(f"dataset {dataset.name!r} holds free text (answer type text): the UNDO "
                        "loop needs answers it can grade; measure it with `undo-tui wheels sweep`")
    teacher = f"{config.teacher.backend}:{config.teacher.model}"
    run_id = store.create_run(db, config.run.name, config.model_dump(mode="json"),
                              kind=kind or config.run.kind,
                              dataset_id=dataset.id, teacher=teacher, student=config.student.model,
                              source_run_id=source_run_id, source_export_id=source_export_id)
    store.update_run(db, run_id, log_path=str(log_path_for(store_path, run_id)))
    return run_id


def stages_for(config: RunConfig, k: int) -> tuple[str, ...]:
    if k == 0:
        return ("evaluate",)
    if config.run.kind == "baseline" and k > 1:
        return ("train", "evaluate")  # same iteration-1 data, trained further (equal budget)
    if config.run.kind == "transfer":
        return ("train", "evaluate")  # the data was stored with the run (engine/loop/transfer.py)
    return STAGES


def drive(store_path: Path, run_id: int, echo: Echo | None = None,
          tick: Tick | None = None) -> store.Run:
    """Run (or resume) a run to its end in this process; returns the final run row."""
    echo = echo or (lambda _line: None)
    db = store.open_store(store_path)
    try:
        run = store.get_run(db, run_id)
        refuse_second_driver(run)
        if run.status == "finished":
            echo(f"run {run_id} already finished: {run.stop_reason}")
            return run
        config = stored_config(run)
        store.clear_stop_request(db, run_id)
        store.update_run(db, run_id, status="running", pid=os.getpid(),
                         pid_started=process_start(os.getpid()), error=None,
                         started_at=run.started_at or now_iso(), finished_at=None)
        store.add_event(db, run_id, "stage", message=f"supervisor started (pid {os.getpid()})")
        with StopSignals() as signals:
            _drive_walk(db, Path(store_path), run_id, config, echo, tick, signals)
        return store.get_run(db, run_id)
    finally:
        db.close()


def _drive_walk(db, store_path: Path, run_id: int, config: RunConfig, echo: Echo,
                tick: Tick | None, signals: StopSignals) -> None:
    def poll() -> None:  # about twice a second, and before each stage
        signals.forward(db, run_id)
        if tick is not None:
            tick()

    try:
        _walk(db, store_path, run_id, config, echo, poll)
    except _Stopped:
        store.update_run(db, run_id, status="stopped", stage=None, pid=None,
                         stop_reason="stopped on request", finished_at=now_iso())
        store.add_event(db, run_id, "stage", message="stopped on request; resume continues here")
        echo("stopped on request")
    except StageFailed as exc:
        store.update_run(db, run_id, status="failed", stage=None, pid=None, error=str(exc),
                         finished_at=now_iso())
        store.add_event(db, run_id, "error", message=str(exc))
        raise


class _Stopped(Exception):
    pass


def _walk(db, store_path: Path, run_id: int, config: RunConfig, echo: Echo,
          tick: Tick | None) -> None:
    cap = config.loop.max_iterations
    if config.evaluation.evaluate_base:
        _ensure_iteration(db, store_path, run_id, config, 0, echo, tick)
    k = 1
    while True:
        _ensure_iteration(db, store_path, run_id, config, k, echo, tick)
        decision = decide_now(db, run_id, config)
        if config.run.kind == "baseline":  # equal budget: every iteration runs, no early stop
            reason = f"equal budget reached ({cap} iterations)" if k >= cap else None
            decision = replace(decision, stop=k >= cap, reason=reason)
        if config.run.kind == "transfer":  # one trained iteration, compared with its source
            decision = replace(decision, stop=True, reason="transfer student trained and evaluated")
        if decision.best_k is not None:
            store.mark_best_iteration(db, run_id, decision.best_k, decision.beats_base)
        if decision.stop:
            store.update_run(db, run_id, status="finished", stage=None, pid=None,
                             stop_reason=decision.reason, finished_at=now_iso())
            summary = f"finished: {decision.reason}; {describe_best(decision)}"
            store.add_event(db, run_id, "stage", message=summary)
            echo(summary)
            return
        k += 1


def describe_best(decision: Decision) -> str:
    text = f"best trained iteration {decision.best_k}"
    if decision.vs_base is not None:
        verdict = "beats" if decision.beats_base else "does not beat"
        text += (f" ({verdict} the untrained student: {decision.vs_base.fixed} fixed, "
                 f"{decision.vs_base.regressed} regressed, McNemar "
                 f"{format_p(decision.vs_base.p_value)})")
    return text


def decide_now(db, run_id: int, config: RunConfig) -> Decision:
    """The stop rule on the finalized strict validation scores and per-example changes (an
    iteration still evaluating, e.g. found by a resume at iteration k-1, is not a candidate)."""
    scores = {}
    for it in store.list_iterations(db, run_id):
        scored = it.scored("val") if it.status == "done" else None
        if scored is not None:
            scores[it.k] = Score(scored.correct, scored.total)

    def pairs(before: int, after: int) -> tuple[int, int]:
        change = store.transitions(db, run_id, "val", before, after)
        return change.fixed, change.regressed

    rule = Rule(config.loop.stop_rule, config.loop.alpha, config.loop.delta)
    return decide(scores, pairs, rule, config.loop.max_iterations)


def _ensure_iteration(db, store_path: Path, run_id: int, config: RunConfig, k: int,
                      echo: Echo, tick: Tick | None) -> None:
    iteration = store.upsert_iteration(db, run_id, k)
    if iteration.status == "done":
        return
    store.upsert_iteration(db, run_id, k, status="running",
                           started_at=iteration.started_at or now_iso())
    stages = stages_for(config, k)
    done = iteration.stage
    for stage in stages:
        if done is not None and done in STAGES and STAGES.index(stage) <= STAGES.index(done):
            continue
        if tick is not None:
            tick()  # a stop signal becomes a stop request before the next stage starts
        if store.stop_requested(db, run_id):
            store.upsert_iteration(db, run_id, k, status="stopped")
            raise _Stopped
        store.update_run(db, run_id, stage=f"{stage} (iteration {k})")
        store.add_event(db, run_id, "stage", stage=stage, iteration=k,
                        message=f"iteration {k}: {stage} started")
        echo(f"iteration {k}: {stage}")
        seconds = run_stage_process(db, store_path, run_id, k, stage, tick)
        store.upsert_iteration(db, run_id, k, stage=stage)
        _add_stage_seconds(db, run_id, k, stage, seconds)
    finalize_iteration(db, run_id, k, config.training.epochs)
    store.upsert_iteration(db, run_id, k, status="done", finished_at=now_iso())
    it = store.get_iteration(db, run_id, k)
    echo(f"iteration {k}: {describe_scores(it)}")
    _track(db, store_path, config, it, echo)


def _track(db, store_path: Path, config: RunConfig, it: store.Iteration, echo: Echo) -> None:
    """The iteration's figures to the trackers; a tracker that fails (a server down) is noted
    in the run's events and the run goes on: the store holds every figure anyway."""
    try:
        log_iteration(config.tracking, store_path, it)
    except Exception as exc:  # noqa: BLE001 - any tracker's failure is worth a line, not the run
        message = (f"iteration {it.k}: tracking failed ({type(exc).__name__}: {exc}); "
                   "the run goes on")
        store.add_event(db, it.run_id, "log", iteration=it.k, message=message)
        echo(message)


def describe_scores(it: store.Iteration) -> str:
    """"val strict 5.0% [2.2-11.2] n=100, flexible 7.0%, format 40%; test ...": one line."""
    parts = []
    for split in ("val", "test"):
        counts = it.scored(split)
        if counts is None:
            continue
        text = (f"{split} strict "
                f"{format_accuracy(counts.correct, counts.total, excluded=counts.excluded)}, flexible "
                f"{counts.flexible_correct / counts.total:.1%}")
        if counts.with_answer_line is not None:
            text += f", format {counts.with_answer_line / counts.total:.0%}"
        parts.append(text)
    return "; ".join(parts) or "no evaluation"


def _add_stage_seconds(db, run_id: int, k: int, stage: str, seconds: float) -> None:
    it = store.get_iteration(db, run_id, k)
    metrics = dict(it.metrics)
    stage_seconds = dict(metrics.get("stage_seconds", {}))
    stage_seconds[stage] = stage_seconds.get(stage, 0.0) + seconds
    metrics["stage_seconds"] = stage_seconds
    store.upsert_iteration(db, run_id, k, metrics=metrics,
                           wall_seconds=round(sum(stage_seconds.values()), 3))


def run_stage_process(db, store_path: Path, run_id: int, k: int, stage: str,
                      tick: Tick | None = None) -> float:
    """Run one stage in a child process (or the launcher of its ranks, see
    engine/loop/launcher.py); returns its wall time. Raises on failure or stop."""
    run = store.get_run(db, run_id)
    log_path = Path(run.log_path or log_path_for(store_path, run_id))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    config = stored_config(run)
    served = stage == "evaluate" and config.evaluation.backend == "openai"
    command = stage_command(config.training, stage, store_path, run_id, k,
                            ranks=not served)  # a server answers: one process asks it
    started = time.perf_counter()
    events_before = last_event_id(db, run_id)
    with open(log_path, "ab") as log:
        log.write(f"\n=== {now_iso()} iteration {k} stage {stage}\n".encode())
        log.flush()
        log_start = log.tell()
        # the child (a launcher too) gets SIGKILL when the supervisor dies, as stages always did
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 preexec_fn=die_with_parent)
        store.add_event(db, run_id, "stage", stage=stage, iteration=k,
                        message=f"{stage} child pid {child.pid}", data={"pid": child.pid})
        code = _wait(child, tick)
    seconds = time.perf_counter() - started
    store.add_event(db, run_id, "stage", stage=stage, iteration=k,
                    message=f"{stage} exited with code {code} after {seconds:.1f}s",
                    data={"exit_code": code, "seconds": seconds})
    if code == EXIT_STOPPED or (code != 0 and store.stop_requested(db, run_id)):
        store.upsert_iteration(db, run_id, k, status="stopped")
        raise _Stopped
    if code != 0:
        raise StageFailed(stage_error(db, run_id, k, stage, code, events_before, log_path,
                                      log_start))
    return seconds


def _wait(child: subprocess.Popen, tick: Tick | None) -> int:
    while True:
        try:
            return child.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            if tick is not None:
                tick()

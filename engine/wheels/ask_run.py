"""Teaching a student to ask is a run (kind 'ask'), computed in the calling process like a
sweep or a distillation (engine.in_process).

`undo-tui wheels teach-ask` records it with its typed settings (engine.wheels.ask_run_config)
and drives it: the warm start (engine.wheels.teach_ask.warm_start; one progress event of stage
'warm' per optimizer step, resumable Trainer state in runs/run-N/warm-state, its result in
runs/run-N/warm), then the constrained PCL stage (one progress event of stage 'pcl' per step:
loss, residual_ms, ce, tokens, λ and usage per level; resumable state in runs/run-N/pcl-state).
The asker is then a complete model directory, runs/run-N/asker, copied to the `--out` directory
when one was given; a stop request ends either stage between steps (status stopped) and
`resume` continues, also after kill -9, from the last checkpoint.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import store
from engine.in_process import Echo, drive_here, log_path, run_dir, stop_checker
from engine.model_registry import model_path
from engine.wheels.ask_report import finish_reason
from engine.wheels.ask_run_config import AskRunConfig, ask_config_from_dict
from store import ask as store_ask
from store.errors import UndoError

KIND = "ask"
Tick = Callable[[], None]


def create_ask(db, store_path: Path, config: AskRunConfig) -> int:
    """Record the run; its dataset, models and --out directory are checked first."""
    sweep = config.sweep
    dataset = store.get_dataset(db, sweep.sweep.dataset)
    model_path(sweep.models.teacher)
    student = config.ask.student or sweep.models.student
    model_path(student)
    out = Path(config.ask.out) if config.ask.out else None
    if out is not None and out.exists() and any(out.iterdir()):
        raise UndoError(f"--out {out}: not empty; choose a new directory")
    run_id = store.create_run(db, config.ask.name, config.to_json(), kind=KIND,
                              dataset_id=dataset.id, teacher=sweep.models.teacher,
                              student=student)
    store.update_run(db, run_id, log_path=log_path(store_path, run_id))
    return run_id


def drive_ask(store_path: Path, run_id: int, echo: Echo | None = None,
              tick: Tick | None = None) -> store.Run:
    """Warm start, PCL stage and the asker's directory, in this process; the final run row.
    `tick` is called after each progress event (a terminal's progress line)."""

    def work(db, run: store.Run, echo: Echo) -> str:
        config = ask_config_from_dict(run.config, f"run {run_id} config")
        return _teach(db, Path(store_path), run, config, echo, tick or (lambda: None))

    return drive_here(store_path, run_id, KIND, "ask training", work, echo)


def asker_dir(store_path: Path, run_id: int) -> Path:
    """Where an ask run's asker is once it finished: runs/run-N/asker."""
    return run_dir(store_path, run_id) / "asker"


def _teach(db, store_path: Path, run: store.Run, config: AskRunConfig, echo: Echo,
           tick: Tick) -> str:
    from engine.wheels.teach_ask import ASK_INFO, pcl_stage, warm_start

    folder = run_dir(store_path, run.id)
    warm, asker = folder / "warm", asker_dir(store_path, run.id)
    hooks = _hooks(db, store_path, run.id, config, echo, tick)
    history = None
    if (asker / "config.json").is_file():
        echo(f"asker trained earlier: {asker}")
    else:
        if not (warm / "config.json").is_file():
            store.update_run(db, run.id, stage="warm start")
            warm_start(db, config, warm, folder / "warm-state", hooks)
            shutil.rmtree(folder / "warm-state", ignore_errors=True)
        store.update_run(db, run.id, stage="pcl" if config.pcl.steps else "saving")
        history = pcl_stage(db, config, warm, asker, folder / "pcl-state", hooks)
        shutil.rmtree(folder / "pcl-state", ignore_errors=True)
        if not config.pcl.steps:
            shutil.rmtree(warm, ignore_errors=True)  # the asker is the warm start itself
    # After PCL the warm start stays: a model of its own, which may ask better (measured here,
    # 10 PCL steps undid its calibration) and which a sweep's learned points may have used.
    out = _copy_out(asker, config)
    store_ask.set_asker(db, run.id, str(asker), str(out) if out else None)
    summary = _read_json(asker / ASK_INFO)
    pcl = history if history is not None else store_ask.pcl_history(db, run.id)
    result = {key: summary.get(key) for key in ("data", "references", "tokens", "asks")}
    if config.pcl.steps and (warm / "config.json").is_file():
        result["warm"] = str(warm)
    result["final"] = {k: v for k, v in pcl[-1].items() if k.startswith(("lambda_", "usage_"))} \
        if pcl else {}
    losses = summary.get("losses") or []
    store_ask.save_outcome(db, run.id, {
        "warm_steps": len(losses), "warm_loss": losses[-1] if losses else None,
        "pcl_steps": len(pcl), "final_loss": pcl[-1]["loss"] if pcl else
        (losses[-1] if losses else None)}, result)
    echo(f"student that asks -> {out or asker}")
    return finish_reason(store_ask.get_outcome(db, run.id))


def _hooks(db, store_path: Path, run_id: int, config: AskRunConfig, echo: Echo, tick: Tick):
    from engine.student.training import SavePolicy
    from engine.tracking import log_step, training_tracking
    from engine.wheels.teach_ask import StageHooks, pcl_line

    clock = {"at": time.perf_counter(), "from": None}

    def pcl_started(step: int) -> None:
        clock["at"], clock["from"] = time.perf_counter(), step

    def warm_progress(step: dict) -> None:
        store.add_event(db, run_id, "progress", stage=store_ask.WARM_STAGE,
                        done=step.get("step"), total=step.get("total_steps"), data=step)
        if step["step"] == 1 or step["step"] % 10 == 0 or step["step"] == step["total_steps"]:
            echo(f"[teach-ask] {step['step']}/{step['total_steps']} · loss {step['loss']:.3f}")
        tick()

    def pcl_progress(step: int, total: int, metrics: dict) -> None:
        done_here = step - (clock["from"] or 0)
        eta = (time.perf_counter() - clock["at"]) / max(done_here, 1) * (total - step)
        store.add_event(db, run_id, "progress", stage=store_ask.PCL_STAGE, done=step,
                        total=total, data={"step": step, "total_steps": total, "eta_s": eta,
                                           **metrics})
        echo(pcl_line(step, total, metrics, config.ask.levels))
        log_step(config.sweep.tracking, store_path, run_id, "pcl",
                 {f"pcl/{name}": float(value) for name, value in metrics.items()
                  if isinstance(value, (int, float))}, step)
        tick()

    return StageHooks(echo, stop_checker(db, run_id),
                      lambda: SavePolicy(True, config.ask.save_steps, config.ask.save_interval_s),
                      warm_progress, pcl_started, pcl_progress,
                      training_tracking(config.sweep.tracking, store_path, run_id, "warm"))


def _copy_out(asker: Path, config: AskRunConfig) -> Path | None:
    """The asker copied to the --out directory (complete or absent), once."""
    from engine.student.atomic import atomic_dir

    if not config.ask.out:
        return None
    out = Path(config.ask.out).resolve()
    if not (out / "config.json").is_file():
        with atomic_dir(out) as tmp:
            shutil.copytree(asker, tmp, dirs_exist_ok=True)
    return out


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))

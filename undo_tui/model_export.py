"""Exporting a run's student from the TUI: `undo-tui export-model` as a detached engine process.

Merging, converting and checking load torch, transformers and llama.cpp, so the TUI starts the
command a user would type (through engine_control.spawn: its own session, output in a launch
log beside the store) and a worker waits for it, then reports the files and the GGUF check.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from undo_tui import engine_control

FORMAT = "gguf"  # the HF directory (under hf/), the GGUFs, their Modelfiles and the card


@dataclass(frozen=True)
class ModelExportDone:
    ok: bool
    out: Path
    output: str  # what the command printed (the check's lines and where the files went)
    log_path: Path


def default_out(store_path: Path, run_id: int, iteration: str = "best") -> Path:
    """`<store dir>/models/run-N-best`, with -2, -3 ... when an earlier export is there."""
    base = Path(store_path).expanduser().resolve().parent / "models"
    candidate, n = base / f"run-{run_id}-{iteration}", 1
    while candidate.exists():
        n += 1
        candidate = base / f"run-{run_id}-{iteration}-{n}"
    return candidate


def export_model_command(store_path: Path, run_id: int, out: Path, iteration: str = "best",
                         python: str | None = None) -> list[str]:
    return [python or sys.executable, "-m", engine_control.CLI_MODULE, "--store",
            str(Path(store_path).expanduser().resolve()), "export-model", str(int(run_id)),
            "--iteration", iteration, "--format", FORMAT, "--out", str(out)]


def export_and_wait(store_path: Path, run_id: int, out: Path,
                    python: str | None = None) -> ModelExportDone:
    """Start the export and block until it ends (call from a worker thread)."""
    launched = engine_control.spawn(export_model_command(store_path, run_id, out, python=python),
                                    store_path)
    code = launched.process.wait()
    output = engine_control.launch_output(launched.log_path)
    if code != 0:
        output = engine_control.cli_error(output) or f"export-model exited with {code}"
    return ModelExportDone(code == 0, out, output.strip(), launched.log_path)

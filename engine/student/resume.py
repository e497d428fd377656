"""Resumable training state: Trainer checkpoints that a stopped or killed training continues from.

Training with a `state_dir` saves transformers' own checkpoints there (adapter or model,
optimizer, scheduler, RNG states, trainer state with the loss history) on a stop request and per
the save policy (TrainConfig.save_steps / save_interval_s). A checkpoint counts only once it
carries our completion marker, written after Trainer finished saving it, so a kill during a save
leaves the previous complete checkpoint in use. The directory remembers a fingerprint of what is
being trained (data, settings, base model, starting adapter); a mismatch (say the user excluded
examples in between) discards the old state instead of resuming onto different data.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

from engine.config.training import DISTILL_FIELDS
from engine.student.atomic import write_atomic_text

RESUME_INFO = "undo_resume.json"
COMPLETE_MARKER = "undo_checkpoint_complete"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
# Settings that decide when to save, not what is learned: changing them keeps the state valid.
_NOT_FINGERPRINTED = ("save_steps", "save_interval_s", "device", "launcher", "rdzv_endpoint",
                      "dist_timeout_s", "strategy", "zero_stage")
# The global batch is batch_size x processes x nodes: their product decides the weights, and a
# one-process state fingerprints as it did before these keys existed.
_WORLD = ("processes", "nodes")


def fingerprint(features: list[dict], config: dict, base_identity: str,
                init_adapter: Path | None) -> str:
    """A hash of everything that decides the trained weights."""
    skipped = _NOT_FINGERPRINTED
    if config.get("objective", "sft") == "sft":  # the teacher's knobs do not decide SFT weights
        skipped += DISTILL_FIELDS + ("objective",)
    settings = {k: v for k, v in config.items() if k not in skipped + _WORLD}
    world = config.get("processes", 1) * config.get("nodes", 1)
    if world > 1:
        settings["world_size"] = world
    digest = hashlib.sha256()
    digest.update(json.dumps({"config": settings, "base": base_identity,
                              "init": str(init_adapter) if init_adapter else None},
                             sort_keys=True).encode())
    for feature in features:
        digest.update(json.dumps([feature["input_ids"], feature["labels"]]).encode())
    return digest.hexdigest()


def checkpoints(state_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of the checkpoint-N directories, by step."""
    if not state_dir.is_dir():
        return []
    found = []
    for path in state_dir.iterdir():
        match = _CHECKPOINT.match(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path))
    return sorted(found)


def is_saved(checkpoint: Path) -> bool:
    return (checkpoint / COMPLETE_MARKER).is_file()


def latest_checkpoint(state_dir: Path) -> Path | None:
    complete = [path for _, path in checkpoints(Path(state_dir)) if is_saved(path)]
    return complete[-1] if complete else None


def prepare_state_dir(state_dir: Path, print_: str) -> Path | None:
    """Make `state_dir` hold only state for fingerprint `print_`; return the checkpoint to resume.

    Half-written checkpoints (no marker) are removed; so is everything when the fingerprint differs.
    """
    state_dir = Path(state_dir)
    info_path = state_dir / RESUME_INFO
    if state_dir.is_dir() and _stored_fingerprint(info_path) != print_:
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    for _, path in checkpoints(state_dir):
        if not is_saved(path):
            shutil.rmtree(path, ignore_errors=True)
    if not info_path.is_file():
        write_atomic_text(info_path, json.dumps({"fingerprint": print_}))
    return latest_checkpoint(state_dir)


def _stored_fingerprint(info_path: Path) -> str | None:
    try:
        return json.loads(info_path.read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return None


def mark_saved(checkpoint: Path) -> None:
    """Flush the checkpoint's files, mark it complete, then drop the older ones."""
    for path in checkpoint.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    write_atomic_text(checkpoint / COMPLETE_MARKER, "ok\n")
    for _, path in checkpoints(checkpoint.parent):
        if path != checkpoint:
            shutil.rmtree(path, ignore_errors=True)


def resumed_history(log_history: list[dict]) -> tuple[list[float], int]:
    """(losses, tokens) already trained, read back from a resumed Trainer state's log history."""
    losses = [float(entry["loss"]) for entry in log_history if "loss" in entry]
    tokens = next((int(entry["tokens"]) for entry in reversed(log_history) if "tokens" in entry), 0)
    return losses, tokens

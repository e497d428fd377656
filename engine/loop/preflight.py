"""Checks every component of a run before a run row is written or any compute is spent.

A broken teacher used to be found at the teacher stage, minutes into a run and after the base
evaluation, leaving a `failed` run behind. `run`, `resume`, `transfer` and `--create-only` call
`preflight` first: the teacher (a complete GGUF, or an API key that is set and an endpoint that
answers), the student (model and tokenizer configs load), the dataset and its splits, writable
output directories and the free disk space the checkpoints need. Every problem is listed at once.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import store
from engine.config import RunConfig
from engine.tracking.places import Places, missing_packages
from store.errors import UndoError

ENDPOINT_TIMEOUT_S = 10.0
GGUF_TO_DENSE = 8  # a 4-bit GGUF dequantised to float32 takes about 8x its size
LORA_SHARE = 0.05  # an adapter with its optimizer state, as a share of the dense weights
CHECKPOINT_COPIES = 3  # the checkpoint, the resumable train state, the temporary dir while saving


class PreflightFailed(UndoError):
    """Components of a run are missing or broken; nothing was recorded."""


def preflight(db, store_path: Path, config: RunConfig, *, network: bool = True) -> None:
    """Raise PreflightFailed listing every problem; `network=False` skips the endpoint request."""
    problems = check_run(db, store_path, config, network=network)
    if problems:
        lines = [f"{config.source or 'run'}: {len(problems)} problem(s) found before starting; "
                 "nothing was recorded:"]
        lines += [f"  - {problem}" for problem in problems]
        lines.append("Fix them and run the command again (--no-preflight skips these checks, "
                     "e.g. to record a run offline).")
        raise PreflightFailed("\n".join(lines))


def check_run(db, store_path: Path, config: RunConfig, *, network: bool = True) -> list[str]:
    problems: list[str] = []
    if config.run.kind != "transfer":  # a transfer has no teacher, and checks its export's
        problems += teacher_problems(config, network=network)  # dataset and rows itself
    student = student_problems(config)
    problems += student + distillation_problems(config) + launcher_problems(config)
    if config.evaluation.backend == "openai":
        problems += api_problems(config.evaluation.server_config(1), network=network,
                                 who="evaluation")
    if config.run.kind != "transfer":
        problems += dataset_problems(db, config)
    problems += output_problems(store_path, config, model_ok=not student)
    return problems + tracking_problems(store_path, config)


# -- teacher --------------------------------------------------------------------------------------

def teacher_problems(config: RunConfig, *, network: bool = True) -> list[str]:
    teacher = config.teacher
    if teacher.backend == "llamacpp":
        from engine.model_registry import gguf_path

        try:
            path = gguf_path(teacher.model)
        except UndoError as exc:
            return [f"teacher: {exc}"]
        problem = gguf_problem(path)
        return [f"teacher: {problem}"] if problem else []
    return api_problems(teacher, network=network)


def api_problems(teacher, *, network: bool = True, who: str = "teacher") -> list[str]:
    """The key variable is set; the endpoint answers GET /models (without a paid call).
    `who`: the server's role in the messages (the teacher, or the evaluation's student)."""
    headers = {}
    if teacher.api_key_env:
        key = os.environ.get(teacher.api_key_env)
        if not key:
            return [f"{who}: api_key_env names {teacher.api_key_env}, which is not set in "
                    "this environment (export it with the API key)"]
        headers["Authorization"] = f"Bearer {key}"
    if not network:
        return []
    import httpx

    url = teacher.base_url.rstrip("/") + "/models"
    try:
        response = httpx.get(url, headers=headers, timeout=min(teacher.timeout_s,
                                                               ENDPOINT_TIMEOUT_S))
    except httpx.HTTPError as exc:
        return [f"{who}: {teacher.base_url} does not answer ({type(exc).__name__}); is the "
                "server running and base_url right?"]
    if response.status_code in (401, 403):
        which = f"the key in {teacher.api_key_env}" if teacher.api_key_env else "no API key"
        return [f"{who}: {teacher.base_url} refused {which} (HTTP {response.status_code})"]
    if response.status_code >= 400:
        return [f"{who}: {teacher.base_url} answered HTTP {response.status_code} to GET "
                "/models; check base_url (it usually ends in /v1)"]
    return []


def gguf_problem(path: Path) -> str | None:
    """None for a complete GGUF: the `gguf` package reads it and its tensor data fits the file."""
    from gguf import GGUFReader

    size = path.stat().st_size
    try:
        reader = GGUFReader(str(path))
        end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    except Exception as exc:  # the reader raises ValueError, IndexError... on a damaged file
        return (f"{path} is damaged or truncated ({size:,} bytes): the gguf package cannot read "
                f"its tensors ({exc})")
    if end > size:
        return (f"{path} is truncated: its tensors need {end:,} bytes, the file has {size:,} "
                "(an interrupted download or copy?)")
    return None


# -- student --------------------------------------------------------------------------------------

def student_problems(config: RunConfig) -> list[str]:
    directory, problems = model_directory(config.student.model, "student")
    if directory is None:
        return problems
    try:
        from transformers import AutoConfig, AutoTokenizer

        AutoConfig.from_pretrained(directory)
        AutoTokenizer.from_pretrained(directory)
    except Exception as exc:  # transformers raises OSError, ValueError, KeyError...
        return [f"student: {directory}: model or tokenizer config does not load "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"]
    return []


def model_directory(name: str, key: str) -> tuple[Path | None, list[str]]:
    """(the model directory `name` leads to, []), or (None, its problems under `key`; none for
    an intact GGUF file, which has no directory to look into yet)."""
    from engine.model_registry import model_path

    try:
        path = model_path(name)
    except UndoError as exc:
        return None, [f"{key}: {exc}"]
    if path.is_file():
        problem = gguf_problem(path)
        return None, [f"{key}: {problem}"] if problem else []
    return path, []


def distillation_problems(config: RunConfig) -> list[str]:
    """A distillation objective's teacher: found, intact and, when both models are directories,
    sharing the student's tokenizer (a GGUF's tokenizer is compared when training starts: reading
    it means converting the file)."""
    training = config.training
    if training.objective == "sft":
        return []
    key = "training.teacher_model"
    teacher, problems = model_directory(training.teacher_model, key)
    student = Path(config.student.model).expanduser()
    if teacher is None or not (student / "config.json").is_file():
        return problems  # a GGUF student, or one student_problems already lists
    from transformers import AutoTokenizer

    from engine.wheels.pair import PairMismatch, check_pair

    try:
        check_pair(AutoTokenizer.from_pretrained(student), AutoTokenizer.from_pretrained(teacher),
                   "the student", f"teacher {training.teacher_model!r}")
    except PairMismatch as exc:
        return [f"{key}: {exc}"]
    except Exception as exc:  # transformers raises OSError, ValueError, KeyError...
        return [f"{key}: {teacher}: tokenizer does not load ({type(exc).__name__})"]
    return []


def launcher_problems(config: RunConfig) -> list[str]:
    """A rank takes the GPU of its local rank where CUDA is visible, unless device = "cpu"
    (engine/student/ranks.py): more processes per node than GPUs would fail the extra ranks
    with 'invalid device ordinal' at the first train stage, after the teacher stage's work."""
    processes = config.training.processes
    if processes == 1 or config.training.cpu_ranks:
        return []  # device = "cpu": the ranks leave the GPUs alone
    import torch

    if not torch.cuda.is_available():
        return []  # the ranks run on the CPU over gloo
    gpus = torch.cuda.device_count()
    if processes <= gpus:
        return []
    return [f"training.processes: {processes} ranks per node, but this machine shows {gpus} "
            f"CUDA device(s) and each rank takes one; set processes to at most {gpus} (or "
            "training.device = \"cpu\" to run the ranks on the CPU)"]


# -- dataset --------------------------------------------------------------------------------------

def dataset_problems(db, config: RunConfig) -> list[str]:
    section = config.dataset
    try:
        dataset = store.get_dataset(db, section.name)
    except store.NotFound:
        names = ", ".join(d.name for d in store.list_datasets(db)) or "none yet"
        return [f"dataset: no dataset {section.name!r} in this store (datasets: {names}); "
                f"import it with `undo-tui import PATH --dataset {section.name}`"]
    wanted = {"train_split": section.train_split, "val_split": section.val_split,
              "test_split": section.test_split}
    problems = []
    for key, split in wanted.items():
        if split and dataset.counts.get(split, 0) == 0:
            have = ", ".join(f"{s} {n}" for s, n in sorted(dataset.counts.items())) or "no rows"
            problems.append(f"dataset.{key}: dataset {section.name!r} has no {split!r} examples "
                            f"({have})")
    return problems


# -- outputs --------------------------------------------------------------------------------------

def output_problems(store_path: Path, config: RunConfig, *, model_ok: bool) -> list[str]:
    base = Path(store_path).resolve().parent
    if not _writable(base):
        return [f"outputs: {base} is not writable (the run's checkpoints and log go there)"]
    if not model_ok:
        return []
    need = checkpoint_bytes(config)
    free = shutil.disk_usage(_existing(base)).free
    if need > free:
        return [f"outputs: {free / 1e9:.1f} GB free at {base}; the checkpoints of "
                f"{config.loop.max_iterations} iteration(s) need about {need / 1e9:.1f} GB"]
    return []


def tracking_problems(store_path: Path, config: RunConfig) -> list[str]:
    """A tracker whose package is missing; a tracking folder that cannot be written."""
    if not config.tracking.backends():
        return []
    root = Places.of(config.tracking, store_path, 0).root
    unwritable = [] if _writable(root) else [
        f"tracking.dir: {root} is not writable (TensorBoard logs and the local tracking files "
        "go there)"]
    return missing_packages(config.tracking) + unwritable


def checkpoint_bytes(config: RunConfig) -> int:
    """A generous estimate of what the run writes: per iteration the checkpoint, its resumable
    training state and the temporary copy while saving; LoRA writes only adapters."""
    from engine.model_registry import model_path

    path = model_path(config.student.model)
    if path.is_file():
        dense = path.stat().st_size * GGUF_TO_DENSE
    else:
        dense = sum(p.stat().st_size for p in path.iterdir()
                    if p.suffix in (".safetensors", ".bin"))
    share = LORA_SHARE if config.training.lora else 1.0
    return int(dense * share * CHECKPOINT_COPIES * config.loop.max_iterations)


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable(directory: Path) -> bool:
    return os.access(_existing(directory), os.W_OK | os.X_OK)

"""Transfer runs: train a different student on an exported refined data set (or on one iteration
of a run, exported first), with the loop's own training and evaluation stages.

A transfer is an ordinary run of kind "transfer", so the supervisor, stage processes, stop,
resume after kill -9 and status all work unchanged. Its data is copied into the store as the
run's iteration-1 rationales (kept; parent = the exported rationale when that one is in this
store), which is what the train stage reads. Iteration 0 evaluates the new student untrained,
iteration 1 trains it and evaluates it on the source dataset's val (and test) split: the same
examples, with the same limits, the source run was evaluated on, so the two students compare.

Decisions: the export's manifest is required (it names the source run, iteration, dataset and
training config: the provenance a transfer exists to record). The export's dataset must be in the
store, because the student is evaluated on that dataset's val split, which no export carries; a
missing one is an error telling the user what to import. Each row must be a train example of that
dataset (matched by ext_id, question checked).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import store
from engine.config import RunConfig, config_from_dict, read_toml, upgrade
from engine.errors import ConfigError
from engine.export import ExportError, ExportFilters, export_run, iter_export, read_manifest
from engine.export.loading import ExportRow
from engine.export.writer import resolve_iteration
from engine.grading.answers import grade
from store.rationales import SOURCES, NewRationale
from store.transfers import find_export, rationale_examples

INTERNAL_FORMAT = "trl-messages"
# Sections a --config TOML may set for a transfer, and keys a transfer fixes itself.
TOML_SECTIONS = ("run", "dataset", "student", "training", "evaluation", "tracking")
FIXED_KEYS = {("run", "kind"): "a transfer run's kind is always transfer",
              ("dataset", "name"): "the data's dataset (use --dataset to map it)",
              ("dataset", "train_split"): "the training rows are the export's rows",
              ("dataset", "train_limit"): "the training rows are the export's rows",
              ("student", "model"): "the student comes from --student"}


@dataclass(frozen=True)
class Overrides:
    """Training knobs given on the command line; None keeps the source run's value."""

    name: str | None = None
    config_path: Path | None = None
    epochs: int | None = None
    lr: float | None = None
    lora: bool | None = None
    lora_r: int | None = None
    lora_alpha: int | None = None
    seed: int | None = None

    def training(self) -> dict:
        table = {"epochs": self.epochs, "lr": self.lr, "lora": self.lora, "lora_r": self.lora_r,
                 "lora_alpha": self.lora_alpha}
        return {key: value for key, value in table.items() if value is not None}


@dataclass(frozen=True)
class TransferData:
    """An export read back, with what it says about where it came from."""

    path: Path
    rows: list[ExportRow]
    manifest: dict
    dataset_name: str
    iteration: int | None
    source_run_id: int | None  # the source run, when it is in this store
    export_id: int | None  # the export's row in this store, when recorded here
    base_config: dict  # the source run's config: the transfer's defaults


def data_from_export(db, path: Path, dataset: str | None = None) -> TransferData:
    """Read an export and its manifest; link the source run and export if this store has them."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ExportError(f"{path}: no such export file or directory")
    manifest = read_manifest(path)
    if manifest is None:
        raise ExportError(
            f"{path}: no manifest beside it (expected {_manifest_name(path)}). A transfer "
            "records where its data came from (source run, iteration, dataset, training config) "
            "and reads that from the manifest: export again with `undo-tui export`, or put the "
            "manifest back next to the data.")
    rows = list(iter_export(path))
    if not rows:
        raise ExportError(f"{path}: the export has no rows to train on")
    source_run = _source_run(db, manifest)
    config = copy.deepcopy(source_run.config if source_run else
                           (manifest.get("run") or {}).get("config") or {})
    name = dataset or (manifest.get("dataset") or {}).get("name") or rows[0].record.get("dataset")
    if not name:
        raise ExportError(f"{path}: neither the manifest nor the rows name a dataset; pass "
                          "--dataset NAME (a dataset in this store)")
    recorded = find_export(db, path)
    return TransferData(path, rows, manifest, name, manifest.get("iteration"),
                        source_run.id if source_run else None,
                        recorded.id if recorded else None, config)


def _manifest_name(path: Path) -> str:
    return str(path / "manifest.json") if path.is_dir() else path.name + ".manifest.json"


def _source_run(db, manifest: dict) -> store.Run | None:
    """The manifest's run when this store has it (same id and name: not another store's run)."""
    info = manifest.get("run") or {}
    if not isinstance(info.get("id"), int):
        return None
    try:
        run = store.get_run(db, info["id"])
    except store.NotFound:
        return None
    return run if run.name == info.get("name") else None


def export_for_transfer(db, store_path: Path, run_id: int, k: int,
                        filters: ExportFilters) -> Path:
    """Export iteration k of a run beside the store (recorded like any export) for a transfer.

    The file is the transfer's training data on disk, with a manifest: the same filters and
    provenance as `undo-tui export`, and a record another transfer or trainer can reuse.
    """
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    out = Path(store_path).resolve().parent / "exports" / f"run-{run_id}-iter-{k}-{stamp}.jsonl"
    return export_run(db, run_id, iteration=k, fmt=INTERNAL_FORMAT, out=out,
                      filters=filters).path


def source_iteration(db, run_id: int, iteration: int | str) -> tuple[store.Run, int]:
    """The run and the iteration number (`best` resolved) a --from-run transfer trains on."""
    run = store.get_run(db, run_id)
    return run, resolve_iteration(db, run, iteration)


# -- the transfer's config ----------------------------------------------------------------------

def transfer_config(base: dict, dataset_name: str, student: str, overrides: Overrides,
                    default_name: str, source: str) -> RunConfig:
    """The source run's config, turned into a one-iteration transfer of `student`.

    Precedence: the source config < the --config TOML < command-line flags.
    """
    data = upgrade(base)
    for section in ("run", "dataset", "student", "training", "evaluation", "loop"):
        data.setdefault(section, {})
    _follow_run(data)
    data.pop("prompts", None)  # no teacher pass in a transfer
    data["run"]["name"] = default_name
    if overrides.config_path is not None:
        _merge_toml(data, Path(overrides.config_path))
    data["training"].update(overrides.training())
    if overrides.seed is not None:
        data["run"]["seed"] = overrides.seed
    if overrides.name:
        data["run"]["name"] = overrides.name
    data["run"]["kind"] = "transfer"
    data["dataset"].update(name=dataset_name, train_split="train", train_limit=0)
    data["student"]["model"] = student_model(student)
    data["evaluation"]["evaluate_train"] = False
    data["loop"] = {"max_iterations": 1, "train_set": "accumulate", "init": "base",
                    "delta": 0.0}
    if overrides.config_path is not None:
        source = f"{source} with {overrides.config_path}"
    return config_from_dict(data, source=source)


def _follow_run(data: dict) -> None:
    """Training settings that followed the source's [run] seed and [student] system prompt
    (stored explicitly since) follow the transfer's own, which --seed or --config may change."""
    training = data["training"]
    if training.get("seed") == data["run"].get("seed", 0):
        training.pop("seed", None)
    if training.get("system_prompt") == (data["student"].get("system_prompt") or None):
        training.pop("system_prompt", None)


def student_model(student: str) -> str:
    """A packaged alias as is; a path made absolute and checked (a resume may run elsewhere)."""
    from engine.model_registry import PACKAGED_MODELS, model_path

    resolved = model_path(student)
    return student if student in PACKAGED_MODELS else str(resolved.resolve())


def _merge_toml(data: dict, path: Path) -> None:
    table = read_toml(path)
    for section, values in table.items():
        if section not in TOML_SECTIONS:
            raise ConfigError(f"{path}: [{section}] does not apply to a transfer run; allowed "
                              f"sections: {', '.join(TOML_SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        for key, value in values.items():
            if (section, key) in FIXED_KEYS:
                raise ConfigError(f"{path}: {section}.{key} cannot be set for a transfer run "
                                  f"({FIXED_KEYS[section, key]})")
            data.setdefault(section, {})[key] = value


def default_name(source_name: str, k: int | None, student: str) -> str:
    label = Path(student.rstrip("/")).name or student
    return f"{source_name}-k{'?' if k is None else k}-to-{label}"


# -- creating the run ---------------------------------------------------------------------------

def create_transfer_run(db, store_path: Path, data: TransferData, config: RunConfig,
                        check: Callable[[], None] | None = None) -> int:
    """Record the run, its link to the source and the data as iteration-1 rationales, in one
    transaction: a bad row or a crash leaves no half-made run. `check` (the preflight) runs
    after the data is validated, before anything is written."""
    from engine.loop.supervisor import create_run

    dataset = _dataset(db, data)
    rationales = training_rationales(db, data, dataset, config.dataset.train_split)
    if check is not None:
        check()
    with store.write(db):
        export_id = data.export_id
        if export_id is None:  # an export made elsewhere: record that this store read it
            export_id = store.record_export(
                db, run_id=data.source_run_id, iteration=data.iteration,
                fmt=data.manifest.get("format", "unknown"), path=str(data.path.absolute()),
                rows=len(data.rows), manifest=data.manifest)
        run_id = create_run(db, store_path, config, kind="transfer",
                            source_run_id=data.source_run_id, source_export_id=export_id)
        for rationale in rationales:
            rationale.run_id = run_id
        store.add_rationales(db, rationales)
        store.add_event(db, run_id, "log", iteration=1, message=(
            f"transfer data: {len(rationales)} rows from {data.path} (export {export_id}, "
            f"run {data.source_run_id if data.source_run_id is not None else '?'}, "
            f"iteration {data.iteration if data.iteration is not None else '?'})"))
    return run_id


def _dataset(db, data: TransferData) -> store.Dataset:
    try:
        return store.get_dataset(db, data.dataset_name)
    except store.NotFound:
        raise ExportError(
            f"{data.path}: its dataset {data.dataset_name!r} is not in this store. A transfer "
            "student is evaluated on that dataset's val (and test) split, which an export does "
            f"not carry: import the same data first (`undo-tui import PATH --dataset "
            f"{data.dataset_name}`), or pass --dataset NAME for a dataset in this store with "
            "the same example ids.") from None


def training_rationales(db, data: TransferData, dataset: store.Dataset,
                        train_split: str) -> list[NewRationale]:
    """One kept iteration-1 rationale per export row, matched to the store's example by ext_id.

    Every row is checked first; an error names the file and line (or row) at fault.
    """
    by_ext = {e.ext_id: e for split in ("train", "val", "test")
              for e in store.load_examples(db, dataset.id, split)}
    owners = rationale_examples(db, [r.record["rationale_id"] for r in data.rows
                                     if isinstance(r.record.get("rationale_id"), int)])
    attempts: Counter = Counter()
    out = []
    for row in data.rows:
        example = _example_for(row, by_ext, dataset.name, train_split)
        record = row.record
        text = record.get("rationale")
        if not isinstance(text, str) or not text.strip():
            raise ExportError(f"{row.where}: no rationale text to train on")
        source = record.get("rationale_source")
        source = source if source in SOURCES else "teacher_initial"
        parent = record.get("rationale_id")
        parent = parent if owners.get(parent) == example.id else None
        graded = grade(text, example.answer, dataset.answer_type, choices=example.choices)
        attempt = attempts[example.id, source]
        attempts[example.id, source] += 1
        out.append(NewRationale(
            example.id, None, 1, source, text, attempt=attempt, parent_id=parent,
            template=record.get("template"), prompt_hash=record.get("prompt_hash"),
            answer=graded.answer, answer_rule=graded.rule, correct=graded.correct, kept=True))
    return out


def _example_for(row: ExportRow, by_ext: dict, dataset_name: str, train_split: str):
    ext_id = row.record.get("ext_id")
    if ext_id in (None, ""):
        raise ExportError(f"{row.where}: no ext_id; a transfer matches rows to the dataset's "
                          "examples by it")
    example = by_ext.get(str(ext_id))
    if example is None:
        raise ExportError(f"{row.where}: example {ext_id!r} is not in dataset {dataset_name!r} "
                          "of this store (was the export made from other data?)")
    if example.split != train_split:
        raise ExportError(f"{row.where}: example {ext_id!r} is in the {example.split} split; a "
                          f"transfer trains on {train_split} examples only (it is evaluated on "
                          "val and test)")
    question = row.record.get("question")
    if question is not None and question.strip() != example.question.strip():
        raise ExportError(f"{row.where}: example {ext_id!r} has a different question in this "
                          f"store's dataset {dataset_name!r}; the export came from other data")
    return example

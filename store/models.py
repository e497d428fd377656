"""Typed rows returned by the store's query functions (no SQL rows leak to the UI)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field, fields
from typing import Any


def _loads(text: str | None, default: Any = None) -> Any:
    return default if text is None else json.loads(text)


@functools.cache
def _field_names(cls) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


def _known(cls, row: dict) -> dict:
    """Only the columns the dataclass knows: a later migration may add columns."""
    names = _field_names(cls)
    return {k: v for k, v in row.items() if k in names}


@dataclass(frozen=True)
class Dataset:
    id: int
    name: str
    answer_type: str
    source: str | None
    created_at: str
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict, counts: dict[str, int]) -> Dataset:
        return cls(**_known(cls, row), counts=counts)


@dataclass(frozen=True)
class Example:
    id: int
    dataset_id: int
    split: str
    ext_id: str
    question: str
    answer: str
    answer_raw: str | None
    rationale: str | None
    choices: list[str] | None
    category: str | None
    position: int | None

    @classmethod
    def from_row(cls, row: dict) -> Example:
        row = dict(row)
        row["choices"] = _loads(row.pop("choices_json"))
        return cls(**_known(cls, row))


@dataclass(frozen=True)
class Run:
    id: int
    name: str
    kind: str
    dataset_id: int | None
    source_run_id: int | None
    source_export_id: int | None
    config: dict
    teacher: str | None
    student: str | None
    status: str
    stage: str | None
    pid: int | None
    stop_requested: bool
    best_iteration: int | None
    stop_reason: str | None
    error: str | None
    log_path: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    # the best trained iteration beat the untrained student beyond noise; None: no iteration 0
    best_beats_base: bool | None = None
    pid_started: str | None = None  # start time of the process in `pid` (store.processes)

    @classmethod
    def from_row(cls, row: dict) -> Run:
        row = dict(row)
        if row.get("best_beats_base") is not None:
            row["best_beats_base"] = bool(row["best_beats_base"])
        row["config"] = _loads(row.pop("config_json"), {})
        row["stop_requested"] = bool(row["stop_requested"])
        return cls(**_known(cls, row))


@dataclass(frozen=True)
class RunSummary:
    """A run plus what the runs screen shows beside it."""

    run: Run
    dataset_name: str | None
    iterations: int
    best_val_accuracy: float | None  # strict, of the marked best iteration
    best_val_correct: int | None = None
    best_val_total: int | None = None
    best_val_excluded: int = 0  # validation examples left out of it as excluded


@dataclass(frozen=True)
class Iteration:
    id: int
    run_id: int
    k: int
    status: str
    stage: str | None
    train_size: int | None
    teacher_attempted: int | None
    teacher_kept: int | None
    val_accuracy: float | None
    test_accuracy: float | None
    train_loss: float | None
    epochs_total: float | None
    teacher_prompt_tokens: int
    teacher_completion_tokens: int
    teacher_cost: float
    teacher_calls: int
    metrics: dict
    checkpoint_path: str | None
    is_best: bool
    started_at: str | None
    finished_at: str | None
    wall_seconds: float | None
    # split -> counts of the excluded examples' predictions, left out of `scored` (store.runs)
    excluded: dict = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict) -> Iteration:
        row = dict(row)
        row["metrics"] = _loads(row.pop("metrics_json"), {})
        row["is_best"] = bool(row["is_best"])
        return cls(**_known(cls, row))

    @property
    def teacher_yield(self) -> float | None:
        if not self.teacher_attempted:
            return None
        return (self.teacher_kept or 0) / self.teacher_attempted

    def scored(self, split: str) -> SplitCounts | None:
        """The split's counts as finalized (strict, flexible, format) less the excluded
        examples' predictions (counted in `excluded`); None if not evaluated or all excluded."""
        total = self.metrics.get(f"{split}_total")
        correct = self.metrics.get(f"{split}_correct")
        if not total or correct is None:
            return None
        flexible = self.metrics.get(f"{split}_flexible_correct", correct)
        fmt = self.metrics.get(f"{split}_format")
        formatted = None if fmt is None else round(fmt * total)
        out = self.excluded.get(split)
        if out is not None:
            total, correct, flexible = total - out.total, correct - out.correct, \
                flexible - out.flexible_correct
            formatted = None if formatted is None else formatted - out.with_answer_line
            if total <= 0:
                return None
        return SplitCounts(int(correct), int(flexible), int(total), formatted,
                           excluded=out.total if out is not None else 0)


@dataclass(frozen=True)
class SplitCounts:
    """One split of one iteration: strict correct (the headline), flexible correct, n, format."""

    correct: int
    flexible_correct: int
    total: int  # examples scored: evaluated and not excluded
    with_answer_line: int | None
    excluded: int = 0  # evaluated, left out because excluded


@dataclass(frozen=True)
class Rationale:
    id: int
    example_id: int
    run_id: int | None
    iteration: int
    parent_id: int | None
    source: str
    attempt: int
    status: str
    text: str
    error: str | None
    template: str | None
    prompt_hash: str | None
    cache_key: str | None
    answer: str | None
    answer_rule: str | None
    correct: bool | None
    hinted: bool
    kept: bool
    created_at: str
    reject_reason: str | None = None  # why it was not kept (store.REJECT_REASONS)

    @classmethod
    def from_row(cls, row: dict) -> Rationale:
        row = dict(row)
        row["correct"] = None if row["correct"] is None else bool(row["correct"])
        row["hinted"] = bool(row["hinted"])
        row["kept"] = bool(row["kept"])
        return cls(**_known(cls, row))


@dataclass(frozen=True)
class Prediction:
    id: int
    run_id: int
    iteration: int
    split: str
    example_id: int
    output: str
    answer: str | None
    answer_rule: str | None
    correct: bool
    has_answer_line: bool
    new_tokens: int | None
    flexible_correct: bool = False  # with the last-number fallback (strict is `correct`)
    flexible_answer: str | None = None

    @classmethod
    def from_row(cls, row: dict) -> Prediction:
        row = dict(row)
        row["correct"] = bool(row["correct"])
        row["has_answer_line"] = bool(row["has_answer_line"])
        flexible = row.get("flexible_correct")
        row["flexible_correct"] = row["correct"] if flexible is None else bool(flexible)
        return cls(**_known(cls, row))


@dataclass(frozen=True)
class CachedCall:
    """One teacher response, keyed by model identity, exact prompt, sampling params, sample index."""

    key: str
    model_id: str
    prompt_hash: str
    params_json: str
    sample_index: int
    response: str
    status: str = "ok"
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    cost: float | None = None
    created_at: str | None = None

    @classmethod
    def from_row(cls, row: dict) -> CachedCall:
        return cls(**_known(cls, row))


@dataclass(frozen=True)
class Event:
    id: int
    run_id: int | None
    ts: float
    kind: str
    stage: str | None
    iteration: int | None
    done: int | None
    total: int | None
    message: str | None
    data: dict

    @classmethod
    def from_row(cls, row: dict) -> Event:
        row = dict(row)
        row["data"] = _loads(row.pop("data_json"), {})
        return cls(**_known(cls, row))


@dataclass(frozen=True)
class Annotation:
    """An example's curation (dataset level) with the run each part was made in (None: before
    provenance was recorded, or outside a run)."""

    example_id: int
    excluded: bool
    note: str | None
    tags: tuple[str, ...]
    excluded_run_id: int | None = None
    note_run_id: int | None = None
    tag_runs: tuple[int | None, ...] = ()  # per tag, in the order of `tags`


@dataclass(frozen=True)
class ExportRecord:
    id: int
    run_id: int | None
    iteration: int | None
    format: str
    path: str
    rows: int
    manifest: dict
    created_at: str

    @classmethod
    def from_row(cls, row: dict) -> ExportRecord:
        row = dict(row)
        row["manifest"] = _loads(row.pop("manifest_json"), {})
        return cls(**_known(cls, row))

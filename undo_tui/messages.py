"""Typed messages that workers post back to the UI thread, and the data bundles they carry.

Every store read runs in a thread worker; the worker never touches a widget. It builds one of
these and posts it (Textual's post_message is thread-safe); the screen's handler updates widgets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from textual.message import Message

from store.browse import BrowseFilter, BrowseRow
from store.curation import HumanEdit
from store.models import (Annotation, Event, Example, Iteration, Prediction, Rationale, Run,
                          RunSummary)
from store.transfers import DataComparison, TransferLink


# -- data bundles -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunsData:
    runs: list[RunSummary]
    progress: dict[int, dict[str, Event]]
    alive: dict[int, bool]
    datasets: int


@dataclass(frozen=True)
class TransitionCounts:
    fixed: int
    regressed: int


@dataclass(frozen=True)
class DashboardData:
    run: Run
    dataset_name: str | None
    iterations: list[Iteration]
    transitions: dict[int, TransitionCounts]
    format_rates: dict[int, float]
    baseline: RunSummary | None
    baseline_iterations: list[Iteration]
    progress: dict[str, Event]
    log: list[Event]
    alive: bool
    transfer: TransferLink | None = None  # this run is a transfer: its source and data
    transfers: list[TransferLink] = field(default_factory=list)  # transfers of this run's data
    best_vs_base: TransitionCounts | None = None  # the best iteration against iteration 0 (val)
    baseline_change: TransitionCounts | None = None  # baseline -> this run at the best's k (val)
    data_comparisons: list[DataComparison] = field(default_factory=list)  # refined vs k=1 data


@dataclass(frozen=True)
class BrowseOptions:
    splits: list[str]
    iterations: dict[str, list[int]]
    tags: list[tuple[str, int]]


@dataclass(frozen=True)
class ExampleDetail:
    example: Example
    annotation: Annotation
    rationales: list[Rationale]
    predictions: list[Prediction]
    iterations: list[int] = field(default_factory=list)
    edit: HumanEdit | None = None  # the example's dataset-level human rationale, if any


# -- messages -----------------------------------------------------------------------------------

class StoreOpened(Message):
    def __init__(self, path: Path, empty: bool) -> None:
        super().__init__()
        self.path, self.empty = path, empty


class StoreFailed(Message):
    def __init__(self, path: Path, error: str) -> None:
        super().__init__()
        self.path, self.error = path, error


class RunsLoaded(Message):
    def __init__(self, data: RunsData) -> None:
        super().__init__()
        self.data = data


class DashboardLoaded(Message):
    def __init__(self, data: DashboardData) -> None:
        super().__init__()
        self.data = data


class BrowseOptionsLoaded(Message):
    """What the errors browser can filter by; when it first opens, also its first page.

    flt/rows/elapsed_ms: the opening filter and its first page, read by the same worker so the
    screen paints rows without a second round trip through the UI thread.
    """

    def __init__(self, options: BrowseOptions, flt: BrowseFilter | None = None,
                 rows: list[BrowseRow] | None = None, elapsed_ms: float = 0.0) -> None:
        super().__init__()
        self.options, self.flt, self.rows, self.elapsed_ms = options, flt, rows, elapsed_ms


class BrowseChanged(Message):
    """The store changed under the errors browser (a run wrote predictions): re-read in place.

    refresh=False: the first look, which only records the marker.
    """

    def __init__(self, marker: tuple, options: BrowseOptions, refresh: bool = True) -> None:
        super().__init__()
        self.marker, self.options, self.refresh = marker, options, refresh


class BrowsePageLoaded(Message):
    """mode: 'replace' (new filter or a jump), 'append' (next page), 'prepend' (previous page),
    'refresh' (the same window re-read in place; `select` is then the example id to keep)."""

    def __init__(self, token: int, rows: list[BrowseRow], mode: str, elapsed_ms: float,
                 anchor: str = "start", select: int | None = None) -> None:
        super().__init__()
        self.token, self.rows, self.mode, self.elapsed_ms = token, rows, mode, elapsed_ms
        self.anchor, self.select = anchor, select


class BrowseCountLoaded(Message):
    """exact=False: a search's count was capped and `count` is a lower bound ("N+")."""

    def __init__(self, token: int, count: int, elapsed_ms: float, exact: bool = True,
                 excluded: int | None = None) -> None:
        super().__init__()
        self.token, self.count, self.elapsed_ms, self.exact = token, count, elapsed_ms, exact
        self.excluded = excluded  # of `count`, examples a human excluded (None: not counted)


class ExampleLoaded(Message):
    def __init__(self, detail: ExampleDetail) -> None:
        super().__init__()
        self.detail = detail


class Saved(Message):
    """A small write (tag, note, exclude, edit, stop, delete) went through."""

    def __init__(self, what: str, text: str, subject: int | None = None) -> None:
        super().__init__()
        self.what, self.text, self.subject = what, text, subject


class EngineLaunched(Message):
    """started_run: a new run (a transfer) whose engine this is, to be shown next."""

    def __init__(self, pid: int, log_path: Path, argv: list[str],
                 started_run: int | None = None) -> None:
        super().__init__()
        self.pid, self.log_path, self.argv = pid, log_path, argv
        self.started_run = started_run


class WorkFailed(Message):
    """A worker failed: shown as a notification, never a crash."""

    def __init__(self, what: str, error: str) -> None:
        super().__init__()
        self.what, self.error = what, error


class ModelExported(Message):
    """`undo-tui export-model` ended; `done` says where the files went (or why not)."""

    def __init__(self, run_id: int, done) -> None:  # done: undo_tui.model_export.ModelExportDone
        super().__init__()
        self.run_id, self.done = run_id, done

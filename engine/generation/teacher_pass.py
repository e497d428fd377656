"""A teacher pass: prompt the teacher for each example, grade each output, store every rationale.

One pass = one template (initial, a refinement variant, hinted) over a list of examples, with a
keep policy. Cache hits cost nothing; missing calls run with the teacher's concurrency; every
result is graded against gold and stored the moment it arrives (see `calls.run_calls`), with the
rendered prompt's hash and the template's name@version. Yield (kept / attempted) is reported and
recorded per template in the iteration's metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

import store
from store.models import Example
from store.rationales import NewRationale

from engine.generation.calls import CallResult, TeacherRequest, run_calls
from engine.generation.keep import KEEP_POLICIES, reject_reason, split_solution
from engine.generation.keep_filter import RULES, Candidate, check_rules, keep_problem
from engine.generation.progress import Progress, ProgressTracker
from engine.generation.storing import failed_slots, put_rationale, record_yield
from engine.grading.answers import grade
from engine.prompts import (PromptTemplate, StudentAttempt, StudentError, load_template,
                            prompt_fields)
from engine.teachers.base import Teacher, TeacherUnusable

log = logging.getLogger(__name__)

DEFAULT_RETRIES = 2


@dataclass(frozen=True)
class PassItem:
    """One example to ask about, with what a refinement prompt shows (None for a first pass)."""

    example: Example
    parent_id: int | None = None  # the rationale this one refines
    previous_rationale: str | None = None
    student: StudentAttempt | None = None
    errors: tuple[StudentError, ...] = ()


@dataclass
class PassOptions:
    run_id: int
    iteration: int = 1
    answer_type: str = "number"
    keep: str = "correct"  # correct | all | retry | hinted
    template: PromptTemplate | None = None  # default: initial (hinted for keep="hinted")
    source: str | None = None  # default from the template: teacher_initial/_refined/_hinted
    retries: int | None = None  # extra samples for unkept examples; default 2 for "retry", else 0
    retry_temperature: float = 0.7
    retry_template: PromptTemplate | None = None  # e.g. hinted: "retry with a hint"
    keep_rules: frozenset[str] = frozenset(RULES)  # keep-filter rules switched on ([loop])
    abandon_in_flight: bool = False
    progress_interval_s: float = 0.5
    chunk_size: int = 4096  # prompts rendered and held in memory at once (100k-example passes)


@dataclass
class PassReport:
    template: str
    attempted: int = 0  # examples with at least one result
    kept: int = 0  # examples with a kept rationale
    rows: int = 0
    failed: int = 0
    truncated: int = 0
    rejected: int = 0  # correct outputs the keep filter rejected
    reasons: Counter = field(default_factory=Counter)  # outputs not kept, per reject reason
    calls_made: int = 0
    cache_hits: int = 0
    retried: int = 0  # calls that needed more than one attempt
    repeated: int = 0  # calls in flight when an earlier process was killed, made again
    http_attempts: int = 0
    prompt_tokens: int = 0  # paid calls only
    completion_tokens: int = 0
    cost: float = 0.0
    wall_s: float = 0.0
    stopped: bool = False
    not_started: int = 0  # requests left when the pass stopped
    kept_ids: set[int] = field(default_factory=set)

    @property
    def yield_(self) -> float | None:
        return self.kept / self.attempted if self.attempted else None

    def calls_summary(self) -> str:
        """Where the answers came from: "12 calls made (2 retried, 1 failed), 30 from cache"."""
        text = (f"{self.calls_made} calls made ({self.retried} retried, {self.failed} failed), "
                f"{self.cache_hits} from cache")
        if self.repeated:
            text += f", {self.repeated} in flight at a kill and made again"
        return text


class _Payload(NamedTuple):
    item: PassItem
    attempt: int
    template: PromptTemplate
    source: str


def run_teacher_pass(db, teacher: Teacher, items: Sequence[PassItem], options: PassOptions, *,
                     should_stop: Callable[[], bool] | None = None,
                     on_progress: Callable[[Progress], None] | None = None) -> PassReport:
    """Synchronous entry point (runs its own event loop)."""
    return asyncio.run(teacher_pass(db, teacher, items, options, should_stop=should_stop,
                                    on_progress=on_progress))


async def teacher_pass(db, teacher: Teacher, items: Sequence[PassItem], options: PassOptions, *,
                       should_stop: Callable[[], bool] | None = None,
                       on_progress: Callable[[Progress], None] | None = None) -> PassReport:
    """Run the pass; raises TeacherUnusable (after storing what finished) if the teacher is."""
    _check(options)
    template = options.template or load_template("hinted" if options.keep == "hinted"
                                                 else "initial")
    retries = options.retries if options.retries is not None else (
        DEFAULT_RETRIES if options.keep == "retry" else 0)
    report = PassReport(template=template.id)
    tracker = ProgressTracker(db, options.run_id, options.iteration,
                              min_interval_s=options.progress_interval_s, label=template.id)
    stop = should_stop or (lambda: False)
    handle = _Handler(db, teacher, options, report, tracker, on_progress)
    start = time.perf_counter()
    pending = list(items)
    fatal = None
    tracker.plan(len(pending), retries + 1)  # the whole stage's total, from the start
    try:
        for attempt in range(retries + 1):
            round_template = template if attempt == 0 else (options.retry_template or template)
            tracker.calls_started()
            for first in range(0, len(pending), options.chunk_size):
                chunk = pending[first:first + options.chunk_size]
                requests = _requests(teacher, chunk, options, round_template, attempt)
                stats = await run_calls(db, teacher, requests, on_result=handle,
                                        should_stop=stop,
                                        abandon_in_flight=options.abandon_in_flight)
                report.calls_made += stats.calls_made
                report.retried += stats.retried
                report.repeated += stats.repeated
                report.http_attempts += stats.http_attempts
                fatal = stats.fatal
                report.stopped = stats.stopped
                if fatal or report.stopped:
                    report.not_started = len(stats.pending) + len(pending) - first - len(chunk)
                    break
            if fatal or report.stopped:
                break
            pending = [item for item in pending if item.example.id not in report.kept_ids]
            if not pending:
                break
    finally:
        report.wall_s = time.perf_counter() - start
        report.attempted, report.kept = len(tracker.attempted), len(tracker.kept)
        handle.progress(force=True)
        record_yield(db, options.run_id, options.iteration, template.id, report.kept,
                     report.attempted)
        await teacher.end_session()
    if fatal:
        raise TeacherUnusable(fatal)
    log.info("teacher pass %s: kept %d/%d, %s, %.1fs", template.id, report.kept,
             report.attempted, report.calls_summary(), report.wall_s)
    return report


def _check(options: PassOptions) -> None:
    if options.keep not in KEEP_POLICIES:
        raise ValueError(f"keep: {options.keep!r} is not one of {', '.join(KEEP_POLICIES)}")
    if options.retries is not None and options.retries < 0:
        raise ValueError(f"retries: must be >= 0, got {options.retries}")
    check_rules(options.keep_rules)
    if options.chunk_size < 1:
        raise ValueError(f"chunk_size: must be >= 1, got {options.chunk_size}")
    if not options.retry_temperature > 0:
        raise ValueError("retry_temperature: must be > 0 (a retry at temperature 0 repeats "
                         "the same output)")


def source_for(template: PromptTemplate) -> str:
    if template.name.startswith("refine"):
        return "teacher_refined"
    if template.name.startswith("hinted"):
        return "teacher_hinted"
    return "teacher_initial"


def _requests(teacher: Teacher, items: Sequence[PassItem], options: PassOptions,
              template: PromptTemplate, attempt: int) -> list[TeacherRequest]:
    """Render every prompt of a round up front, so a template error stops the pass before a call."""
    if attempt > 0 and options.retry_template is not None:
        source = source_for(template)
    else:
        source = options.source or source_for(template)
    params = teacher.config.sampling_params()
    if attempt > 0:
        params["temperature"] = options.retry_temperature
        if params.get("seed") is not None:
            params["seed"] += attempt
    out = []
    for item in items:
        values = prompt_fields(item.example, options.answer_type,
                               previous_rationale=item.previous_rationale, student=item.student,
                               errors=item.errors, reveal_gold=source == "teacher_hinted")
        messages = template.render(values, system_prompt=teacher.config.system_prompt)
        out.append(TeacherRequest.build(teacher.model_id, messages, params, attempt,
                                        _Payload(item, attempt, template, source)))
    return out


def _candidate(text: str, payload: _Payload, answer_type: str) -> Candidate:
    """What the keep filter judges: the output, and the texts its prompt showed the teacher."""
    item, fields = payload.item, payload.template.fields
    student = item.student.output if item.student and "student_output" in fields else None
    previous = item.previous_rationale if "previous_rationale" in fields else None
    return Candidate(text, item.example.question, item.example.answer, answer_type,
                     hinted=payload.source == "teacher_hinted", student_output=student,
                     previous=previous)


def _asks_for_solution(template: PromptTemplate) -> bool:
    """Refinement templates put the rationale after a "Solution:" line (a diagnosis comes first)."""
    return any("solution:" in body.lower() for _, body in template.messages)


class _Handler:
    """Grades and stores one result (called inside the transaction that caches it)."""

    def __init__(self, db, teacher, options, report, tracker, on_progress):
        self.db, self.teacher, self.options = db, teacher, options
        self.report, self.tracker, self.on_progress = report, tracker, on_progress
        self.failed = failed_slots(db, options.run_id, options.iteration)

    def __call__(self, result: CallResult) -> None:
        payload: _Payload = result.request.payload
        row = self._row(result, payload)
        put_rationale(self.db, row, self.failed)
        completion = result.completion
        if completion is not None and not result.cached:
            store.add_teacher_usage(self.db, self.options.run_id, self.options.iteration,
                                    calls=1, prompt_tokens=completion.prompt_tokens or 0,
                                    completion_tokens=completion.completion_tokens or 0,
                                    cost=result.cost or 0.0)
            self.report.prompt_tokens += completion.prompt_tokens or 0
            self.report.completion_tokens += completion.completion_tokens or 0
            self.report.cost += result.cost or 0.0
        self._count(row, result)
        snap = self.tracker.maybe_emit()
        if self.on_progress is not None:
            # after this result's transaction commits: a slow callback never holds the write lock
            asyncio.get_running_loop().call_soon(self.on_progress, snap)

    def _row(self, result: CallResult, payload: _Payload) -> NewRationale:
        item, options = payload.item, self.options
        common = dict(example_id=item.example.id, run_id=options.run_id,
                      iteration=options.iteration, source=payload.source,
                      attempt=payload.attempt, parent_id=item.parent_id,
                      template=payload.template.id,
                      prompt_hash=result.request.prompt_hash
                      or store.prompt_hash(result.request.messages),
                      cache_key=result.request.key, hinted=payload.source == "teacher_hinted")
        if result.completion is None:
            return NewRationale(text="", status="failed", error=result.error,
                                reject_reason="failed", **common)
        raw = result.completion.text
        text = split_solution(raw)[1] if _asks_for_solution(payload.template) else raw.strip()
        graded = grade(text, item.example.answer, options.answer_type,
                       choices=item.example.choices)
        status = "truncated" if result.completion.truncated else "ok"
        problem = None
        if status == "ok" and graded.correct and options.keep != "all":
            problem = keep_problem(_candidate(text, payload, options.answer_type),
                                   options.keep_rules)
        reason = reject_reason(options.keep, status=status, correct=graded.correct,
                               problem=problem.reason if problem else None)
        error = None
        if status == "truncated":
            error = f"truncated at max_tokens={result.request.params.get('max_tokens')}"
        elif problem is not None:
            error = f"not kept: {problem.detail}"
        return NewRationale(text=text, status=status, error=error, answer=graded.answer,
                            answer_rule=graded.rule, correct=graded.correct,
                            kept=reason is None, reject_reason=reason, **common)

    def _count(self, row: NewRationale, result: CallResult) -> None:
        report = self.report
        report.rows += 1
        report.cache_hits += int(result.cached)
        report.failed += int(row.status == "failed")
        report.truncated += int(row.status == "truncated")
        report.rejected += int(row.reject_reason in RULES)
        if row.reject_reason is not None:
            report.reasons[row.reject_reason] += 1
        if row.kept:
            report.kept_ids.add(row.example_id)
        completion = result.completion
        self.tracker.record(row.example_id, cached=result.cached, failed=row.status == "failed",
                            kept=row.kept, completion_tokens=None if completion is None
                            else completion.completion_tokens)

    def progress(self, force: bool = False) -> None:
        snap = self.tracker.maybe_emit(force=force)
        if self.on_progress is not None:
            self.on_progress(snap)

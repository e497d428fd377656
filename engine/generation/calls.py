"""Run many teacher calls: serve cache hits, issue only the missing calls, store each as it arrives.

The cache row of a response and whatever the caller stores for it (its rationale, the iteration's
usage) are written in one transaction the moment it arrives, so a kill -9 loses only calls still in
flight, and a re-run finds every finished one in the cache. A call is marked in flight while it
runs, so the calls a kill cost are counted when a later pass repeats them. Requests with the same
key in one batch (a duplicated question) cost one call.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import store
from store.models import CachedCall

from engine.teachers.base import Completion, Teacher, TeacherCallFailed, TeacherUnusable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeacherRequest:
    key: str  # store.cache_key(model_id, messages, params, sample_index)
    messages: list[dict]
    params: dict
    sample_index: int
    payload: Any = None  # the caller's, handed back with the result
    prompt_hash: str = ""  # store.prompt_hash(messages), computed once

    @classmethod
    def build(cls, model_id: str, messages: list[dict], params: dict, sample_index: int,
              payload: Any = None) -> TeacherRequest:
        key = store.cache_key(model_id, messages, params, sample_index)
        return cls(key, messages, dict(params), sample_index, payload,
                   store.prompt_hash(messages))


@dataclass(frozen=True)
class CallResult:
    request: TeacherRequest
    completion: Completion | None  # None when the call failed
    error: str | None  # why it failed (after retries)
    cached: bool  # served from the cache: nothing was paid
    cost: float | None = None


@dataclass
class CallStats:
    calls_made: int = 0  # distinct requests sent to the backend (retries not counted)
    cache_hits: int = 0
    failed: int = 0
    retried: int = 0  # calls that needed more than one attempt (429, 5xx, timeouts, bad bodies)
    repeated: int = 0  # calls left in flight by a killed process, made again here
    http_attempts: int = 0
    stopped: bool = False
    fatal: str | None = None  # why the teacher became unusable, if it did
    pending: list[TeacherRequest] = field(default_factory=list)  # not started (stopped)


async def run_calls(db, teacher: Teacher, requests: Sequence[TeacherRequest], *,
                    on_result: Callable[[CallResult], None],
                    should_stop: Callable[[], bool] = lambda: False,
                    abandon_in_flight: bool = False) -> CallStats:
    """Deliver one CallResult per request to `on_result` (inside the write that caches it).

    `should_stop` is checked between results: then no new call starts; calls in flight finish and
    are stored, or are cancelled when `abandon_in_flight` (a llama.cpp call always finishes).
    A TeacherUnusable error stops the batch and is reported in `stats.fatal`.
    """
    stats = CallStats()
    missing = _serve_hits(db, teacher, requests, on_result, should_stop, stats)
    if missing and not stats.stopped:
        await _issue(db, teacher, missing, on_result, should_stop, abandon_in_flight, stats)
    elif missing:
        stats.pending = [r for group in missing for r in group]
    return stats


def _serve_hits(db, teacher, requests, on_result, should_stop, stats) -> list[list[TeacherRequest]]:
    """Deliver cache hits; return the missing requests grouped by key, in first-seen order."""
    hits = store.cache_get_many(db, [r.key for r in requests])
    groups: dict[str, list[TeacherRequest]] = {}
    for request in requests:
        if stats.stopped:
            groups.setdefault(request.key, []).append(request)
            continue
        hit = hits.get(request.key)
        if hit is None:
            groups.setdefault(request.key, []).append(request)
            continue
        with store.write(db):
            on_result(CallResult(request, completion_of(hit), None, cached=True))
        stats.cache_hits += 1
        stats.stopped = bool(should_stop())
    return list(groups.values())


async def _issue(db, teacher, groups, on_result, should_stop, abandon, stats) -> None:
    """`concurrency` workers each take a request, await it, store it, then check for a stop.

    Storing happens in the worker, between awaits, so a cancelled (abandoned) call can never
    leave a result half-written, and no new call starts once a stop is seen.
    """
    queue = deque(groups)
    left_by_a_kill = store.in_flight_keys(db, [group[0].key for group in groups])
    in_flight: dict[int, list[TeacherRequest]] = {}
    abandon = abandon and teacher.cancellable
    stopping = False
    tasks: list[asyncio.Task] = []

    async def worker(slot: int) -> None:
        nonlocal stopping
        while queue and not stopping:
            group = in_flight[slot] = queue.popleft()
            stats.calls_made += 1
            stats.repeated += group[0].key in left_by_a_kill
            store.mark_in_flight(db, group[0].key)
            try:
                completion, error, attempts = await _call(teacher, group[0])
            except asyncio.CancelledError:
                store.clear_in_flight(db, group[0].key)  # abandoned on purpose, not killed
                raise
            del in_flight[slot]
            _deliver(db, teacher, group, completion, error, attempts, on_result, stats)
            if not stopping and (stats.fatal or should_stop()):
                stopping = True
                stats.stopped = not stats.fatal
                if abandon or stats.fatal:
                    for task in tasks:
                        if task is not asyncio.current_task():
                            task.cancel()

    tasks.extend(asyncio.create_task(worker(slot))
                 for slot in range(min(teacher.concurrency, len(queue))))
    try:
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    stats.pending = [r for group in [*in_flight.values(), *queue] for r in group]
    for outcome in outcomes:
        if isinstance(outcome, Exception):  # a bug in storing: never swallow it
            raise outcome


async def _call(teacher: Teacher, request: TeacherRequest):
    """(completion, error, attempts): failures become an error text, never an exception."""
    try:
        completion = await teacher.complete(request.messages, request.params)
        return completion, None, completion.attempts
    except TeacherCallFailed as exc:
        return None, exc.reason, exc.attempts
    except TeacherUnusable as exc:
        return None, f"fatal: {exc}", 1
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug or an unexpected backend error: record it, keep going
        log.exception("teacher call raised unexpectedly")
        return None, f"unexpected error: {type(exc).__name__}: {exc}", 1


def _deliver(db, teacher, group, completion, error, attempts, on_result, stats) -> None:
    stats.http_attempts += attempts
    stats.retried += attempts > 1
    if completion is not None and not completion.text.strip():
        completion, error = None, f"empty response (finish_reason={completion.finish_reason})"
    if error is not None:
        stats.failed += 1
        if error.startswith("fatal: "):
            stats.fatal = error[len("fatal: "):]
    cost = None if completion is None else teacher.cost(completion.prompt_tokens,
                                                        completion.completion_tokens)
    with store.write(db):
        if completion is not None:
            store.cache_put(db, cached_call(teacher.model_id, group[0], completion, cost))
        store.clear_in_flight(db, group[0].key)
        for i, request in enumerate(group):
            # a duplicate in the batch is served by the first one's call: not paid again
            on_result(CallResult(request, completion, error, cached=i > 0, cost=cost))


def cached_call(model_id: str, request: TeacherRequest, completion: Completion,
                cost: float | None) -> CachedCall:
    return CachedCall(
        key=request.key, model_id=model_id,
        prompt_hash=request.prompt_hash or store.prompt_hash(request.messages),
        params_json=store.canonical_params(request.params), sample_index=request.sample_index,
        response=completion.text, status="truncated" if completion.truncated else "ok",
        finish_reason=completion.finish_reason, prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens, latency_s=completion.latency_s, cost=cost)


def completion_of(hit: CachedCall) -> Completion:
    return Completion(text=hit.response, finish_reason=hit.finish_reason,
                      prompt_tokens=hit.prompt_tokens, completion_tokens=hit.completion_tokens,
                      latency_s=hit.latency_s or 0.0, attempts=0)

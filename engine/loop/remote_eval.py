"""The student's evaluation answers from an OpenAI-compatible server ([evaluation] backend =
"openai"), through the teacher's HTTP client: the same retries, backoff and requests in flight.

Each question is sent as the chat messages the in-process evaluation formats (`to_messages`,
the student's system prompt), greedy (temperature 0) with max_tokens = max_new_tokens; the
server applies the model's chat template. Answers are handed over in arrival order, a group at
a time, so a stop or a failure keeps every answer that came back.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Sequence

from engine.student.generation import GenerationOutput, GenerationStopped
from engine.student.prompting import Question, to_messages
from engine.teachers.base import TeacherCallFailed
from store.errors import UndoError

OnAnswers = Callable[[list[int], list[GenerationOutput]], None]


def generate_remote(evaluation, k: int, questions: Sequence[Question], on_answers: OnAnswers, *,
                    done: set[int] = frozenset(), system: str | None = None,
                    should_stop: Callable[[], bool] | None = None) -> None:
    """Answer every question not in `done`; raises GenerationStopped on a stop request and an
    UndoError when a request fails after its retries (answers already handed over stay)."""
    client = _student_client(evaluation, k)
    pending = [i for i in range(len(questions)) if i not in done]
    asyncio.run(_answer_all(client, questions, pending, evaluation.max_new_tokens, on_answers,
                            system, should_stop or (lambda: False)))


async def _answer_all(client, questions, pending: list[int], max_tokens: int,
                      on_answers: OnAnswers, system, should_stop) -> None:
    params = {"temperature": 0.0, "top_p": 1.0, "max_tokens": max_tokens}
    slots = asyncio.Semaphore(client.concurrency)

    async def answer(i: int) -> tuple[int, GenerationOutput]:
        async with slots:
            completion = await client.complete(to_messages(questions[i], system), params)
        return i, GenerationOutput(text=completion.text,
                                   new_tokens=completion.completion_tokens or 0,
                                   finished=not completion.truncated)

    tasks = [asyncio.create_task(answer(i)) for i in pending]
    group: list[tuple[int, GenerationOutput]] = []
    try:
        for finished in asyncio.as_completed(tasks):
            try:
                group.append(await finished)
            except TeacherCallFailed as exc:
                raise UndoError(f"evaluation server {client.config.base_url}: {exc}") from None
            if len(group) >= client.concurrency:
                _hand_over(group, on_answers)
            if should_stop():
                raise GenerationStopped({})
    finally:
        _hand_over(group, on_answers)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.end_session()


def _student_client(evaluation, k: int):
    """The teacher's client whose requests also carry `request_extra` (no repeat penalty)."""
    from engine.teachers.openai_api import OpenAITeacher

    class StudentClient(OpenAITeacher):
        def _request_body(self, messages, params: dict) -> dict:
            return {**super()._request_body(messages, params), **evaluation.request_extra}

    return StudentClient(evaluation.server_config(k, evaluation.max_new_tokens))


def _hand_over(group: list, on_answers: OnAnswers) -> None:
    if group:
        indices, outputs = zip(*group)
        on_answers(list(indices), list(outputs))
        group.clear()

"""Where a student should ask: deferral labels from one teacher-forced pass of each model.

Co-LLM's warm start labels the positions where the student's greedy token differs from the
teacher's. Measured in a probe here, asking at every such position spends the budget on wording
and derails the format, so the labels can also be weighed by how much the teacher's token
matters there: its margin, log p_T(teacher's token) - log p_T(student's token), which is 0 where
the two agree and large where the teacher is sure the student is wrong. A budget level B keeps
floor(B x length) labels per sequence, the earliest disagreements (`disagree`) or the largest
margins (`margin`), so one student learns to ask less when its prompt states a lower budget.
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import torch

from engine.wheels.decoding import Models

Labelling = Literal["disagree", "margin"]
LABELLINGS = ("disagree", "margin")


def teacher_forced_margins(models: Models, student_prompt: Sequence[int],
                           teacher_prompt: Sequence[int],
                           continuation: Sequence[int]) -> torch.Tensor:
    """Per continuation token j: the teacher's margin of its own greedy token over the student's
    greedy token, both predicting token j after the same prefix (each model its own prompt)."""
    student = _next_token_logits(models.student, student_prompt, continuation)[:, :models.vocab_size]
    teacher = _next_token_logits(models.teacher, teacher_prompt, continuation)[:, :models.vocab_size]
    logp = torch.log_softmax(teacher.float(), dim=-1)
    chosen_by_teacher = logp.gather(1, teacher.argmax(-1, keepdim=True)).squeeze(1)
    chosen_by_student = logp.gather(1, student.argmax(-1, keepdim=True)).squeeze(1)
    return (chosen_by_teacher - chosen_by_student).clamp(min=0.0)


def _next_token_logits(model, prompt: Sequence[int], continuation: Sequence[int]) -> torch.Tensor:
    """Logits predicting each continuation token [len(continuation), V]."""
    ids = torch.tensor([list(prompt) + list(continuation)], device=model.device)
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0]
    start = len(prompt) - 1
    return logits[start:start + len(continuation)].float().cpu()


def ask_positions(margins: torch.Tensor, share: float, labelling: Labelling) -> list[int]:
    """The continuation positions labelled `<ask>` at budget `share` (0-1), in order."""
    if labelling not in LABELLINGS:
        raise ValueError(f"labelling must be one of {LABELLINGS}, got {labelling!r}")
    room = math.floor(share * len(margins) + 1e-9)
    candidates = [j for j, margin in enumerate(margins.tolist()) if margin > 0]
    if labelling == "margin":
        candidates.sort(key=lambda j: (-float(margins[j]), j))
    return sorted(candidates[:room])

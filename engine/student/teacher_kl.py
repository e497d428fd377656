"""How far a student is from its teacher, token by token, on continuations it was not trained on.

Accuracy says whether the student got the answer; the KL says how close its whole distribution
came to the teacher's, which is what kd and pcl optimise. Both models read the same prompt and
the same reference continuation (teacher forcing, one forward each, no sampling), so the figure
is deterministic and compares objectives on equal terms. Forward KL(π_T ‖ π_θ) per continuation
token over the shared vocabulary, averaged per example, then over examples, with a 95% interval
over examples (normal approximation: tokens of one example are not independent draws).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

Continuation = tuple[Sequence[int], Sequence[int]]  # (prompt ids, continuation ids)


@dataclass(frozen=True)
class HeldOutKL:
    mean: float  # nats per token, averaged per example
    low: float
    high: float
    n: int  # examples
    tokens: int

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (f"KL(teacher||student) {self.mean:.3f} nats/token [{self.low:.3f}-{self.high:.3f}] "
                f"n={self.n}")


def example_kl(student, teacher, prompt: Sequence[int], continuation: Sequence[int],
               vocab_size: int) -> float:
    """Mean KL(π_T ‖ π_θ) over the continuation's tokens after `prompt`."""
    ids = list(prompt) + list(continuation)
    start, width = len(prompt) - 1, len(continuation)
    with torch.inference_mode():
        logits = [model(input_ids=torch.tensor([ids], device=model.device)).logits[0]
                  for model in (student, teacher)]
    student_logp, teacher_logp = (
        F.log_softmax(x[start:start + width, :vocab_size].float().cpu(), dim=-1) for x in logits)
    per_token = F.kl_div(student_logp, teacher_logp, reduction="none", log_target=True).sum(-1)
    return float(per_token.mean())


def held_out_kl(student, teacher, examples: Sequence[Continuation], vocab_size: int) -> HeldOutKL:
    """The summary over `examples` (at least one, each with a non-empty continuation)."""
    if not examples:
        raise ValueError("held-out KL needs at least one example")
    values = [example_kl(student, teacher, prompt, continuation, vocab_size)
              for prompt, continuation in examples]
    mean = statistics.fmean(values)
    half = 1.96 * statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.inf
    return HeldOutKL(mean=mean, low=max(0.0, mean - half), high=mean + half, n=len(values),
                     tokens=sum(len(c) for _, c in examples))

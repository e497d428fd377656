"""Generalised Jensen-Shannon divergence between the student and the teacher (GKD, Agarwal et
al. 2024, arXiv 2306.13649), applied to continuations the student sampled, scored by the teacher.

Same semantics as TRL's `generalized_jsd_loss`: with the mixture m = β·p_T + (1−β)·p_S,
JSD_β = β·KL(p_T || m) + (1−β)·KL(p_S || m); the end points are the KLs themselves, β = 0 the
forward KL(p_T || p_S) and β = 1 the reverse KL(p_S || p_T). (In between the value is the
mixture form, which shrinks toward 0 near either end point: the end points are special cases,
as in TRL, not limits.) No T² factor, as in TRL.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from engine.student.objectives.tokens import kl_per_position, masked_mean


def generalized_jsd(student_logits: torch.Tensor, teacher_logits: torch.Tensor, mask: torch.Tensor,
                    beta: float = 0.5, temperature: float = 1.0) -> torch.Tensor:
    """Mean over masked positions of JSD_β(p_T, p_S); the teacher is detached."""
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must be in [0, 1], got {beta}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    student = F.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher = F.log_softmax(teacher_logits.detach().float() / temperature, dim=-1)
    if beta == 0.0:
        per_position = kl_per_position(teacher, student)
    elif beta == 1.0:
        per_position = kl_per_position(student, teacher)
    else:
        mixture = torch.logaddexp(teacher + math.log(beta), student + math.log1p(-beta))
        per_position = (beta * kl_per_position(teacher, mixture)
                        + (1 - beta) * kl_per_position(student, mixture))
    return masked_mean(per_position, mask)

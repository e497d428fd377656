"""Token-level knowledge distillation: forward KL(teacher || student) on the response tokens.

Both distributions are softened by the temperature T; the loss is multiplied by T² (Hinton et
al. 2015) so its gradient keeps the same scale whatever T is, and a T chosen for one run can be
compared with another. Forward KL is mass-covering: the student is pulled toward every token the
teacher gives weight to, on data someone else wrote (references or teacher samples).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.student.objectives.tokens import kl_per_position, masked_mean


def forward_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, mask: torch.Tensor,
               temperature: float = 1.0) -> torch.Tensor:
    """T² · mean over masked positions of KL(softmax(teacher/T) || softmax(student/T)).

    Logits are (batch, positions, vocab) over one shared vocabulary, already aligned with the
    tokens they predict; the teacher is detached (no gradient reaches it)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    student = F.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher = F.log_softmax(teacher_logits.detach().float() / temperature, dim=-1)
    return masked_mean(kl_per_position(teacher, student), mask) * temperature ** 2

"""What the objectives share: causal alignment, masked token means, KL per position."""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE = -100


def align(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(logits, actions, mask) with position t's logits predicting token t+1, as a causal LM
    trains: the logits of the last position and the first label are dropped; a label of -100
    (prompt, padding) is masked out and stands in as action 0."""
    targets = labels[:, 1:]
    mask = targets != IGNORE
    return logits[:, :-1], targets.masked_fill(~mask, 0), mask


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the positions the mask keeps (0 when it keeps none, never NaN)."""
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp_min(1.0)


def kl_per_position(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) at every position, from log-probabilities over the last dimension."""
    return F.kl_div(log_q, log_p, reduction="none", log_target=True).sum(-1)


def chosen(values: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """values[..., actions]: the entry of the token taken at each position."""
    return values.gather(-1, actions.unsqueeze(-1)).squeeze(-1)

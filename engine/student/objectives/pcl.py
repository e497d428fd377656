"""Path Consistency Learning (Nachum et al. 2017) for distillation, as in shared/TRAINING_WHEELS.md.

Generation is an MDP (state = prompt + tokens so far, action = next token, γ = 1) with reward
r_t = log π_T(a_t | s_t) and entropy weight τ. The student's logits z are soft Q-values:
π_θ = softmax(z/τ), V(s) = τ·logsumexp(z(s, ·)/τ), so τ·log π_θ(a|s) = z(s, a) − V(s). Over a
window of d steps the residual is

    C_t = −V(s_t) + V(s_{t+d}) + Σ_{j<d} [ r_{t+j} − τ·log π_θ(a_{t+j} | s_{t+j}) ]

with V = 0 after the end of the sequence (a window reaching the end sums to it); d = 0 means
"to the end". loss = mean over windows of ½C². It applies to any trajectory, whoever wrote it.

When do the residuals vanish? With τ = 1 and π_θ = π_T each step term r − log π_θ is 0, so
C_t = V(s_{t+d}) − V(s_t): it vanishes for every window only when V = 0 at every state of the
trajectory (the last window reaches the end, where V = 0), i.e. when the student's logits are
normalised log-probabilities (logsumexp z = 0), e.g. z = log_softmax(teacher logits). A student
whose raw logits equal the teacher's raw logits has the teacher's policy but V = logsumexp ≠ 0,
and its residuals are V(s_{t+d}) − V(s_t) (−V(s_t) for a window to the end). That is what
soft-Q asks for: with r = log π_T the optimal soft values are V* = 0 (the best entropy-regularised
return is −KL = 0) and Q* = log π_T, so PCL also pulls the logits' normaliser to 0. For d = 1 the
residual is the soft Bellman error z(s_t, a_t) − r_t − V(s_{t+1}).

Measured on SmolLM2-135M-Instruct's raw logits (4 worked solutions): logsumexp z is 12 to 44
(mean 26) on response positions, so a student identical to the teacher has a residual mean
square of 138 (d = 1) and 740 (to the end) where its KL is 0: with V = τ·logsumexp the loss
first spends itself on the logits' normaliser. A value head (`values`, a separate estimate of V
starting at 0, the optimum for τ = 1) removes that: the residuals of a student equal to the
teacher are then 0 whatever the normaliser.

V = 0 after the end, as the brief's formulation says, holds for a sequence that ended (its last
token is an end-of-sequence token); one cut short (an on-policy sample at max_new_tokens, a
reference at max_length) bootstraps from V of the state it was cut in (`tail_values`), or it
would teach the student that stopping there is free. In a packed row only the last trajectory can
bootstrap (the position after an earlier one belongs to the next example).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.student.objectives.tokens import chosen, masked_mean


def soft_values(logits: torch.Tensor, tau: float) -> torch.Tensor:
    """V(s) = τ·logsumexp(z(s, ·)/τ) at every position."""
    return tau * torch.logsumexp(logits.float() / tau, dim=-1)


def pcl_residuals(student_logits: torch.Tensor, teacher_logits: torch.Tensor, actions: torch.Tensor,
                  mask: torch.Tensor, tau: float = 1.0, window: int = 1,
                  values: torch.Tensor | None = None,
                  tail_values: torch.Tensor | None = None) -> torch.Tensor:
    """C_t for a window starting at every kept position (0 elsewhere), shape (batch, positions),
    with the reward r_t = log π_T(a_t | s_t) (see path_residuals for the windows and values).
    The teacher is detached: its log-probabilities are the reward, not something to train."""
    rewards = chosen(F.log_softmax(teacher_logits.detach().float(), dim=-1), actions)
    return path_residuals(student_logits, rewards, actions, mask, tau, window, values, tail_values)


def path_residuals(student_logits: torch.Tensor, rewards: torch.Tensor, actions: torch.Tensor,
                   mask: torch.Tensor, tau: float = 1.0, window: int = 1,
                   values: torch.Tensor | None = None,
                   tail_values: torch.Tensor | None = None) -> torch.Tensor:
    """C_t from per-step rewards (batch, positions), whatever they are made of (an ask's reward
    is not a teacher log-probability of the action): the core of pcl_residuals.

    Each run of kept positions in a row is one trajectory (a packed row holds several): windows
    never cross into the next one, and V after a run's last position is 0, except after a row's
    last run when `tail_values` (batch,) gives it: a sequence cut short (max_new_tokens,
    max_length) rather than ended bootstraps from the value of the state it was cut in.
    `values` (batch, positions) replaces V = τ·logsumexp(z/τ), e.g. a value head's estimate;
    the policy stays softmax(z/τ), over every column of `student_logits`."""
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    if window < 0:
        raise ValueError(f"window must be >= 0 (0: to the end), got {window}")
    mask = mask.bool()
    normaliser = soft_values(student_logits, tau)
    values = normaliser if values is None else values.float()
    # τ·log π_θ(a) = z(a) − τ·logsumexp(z/τ)
    steps = (rewards.detach().float() - chosen(student_logits.float(), actions) + normaliser) * mask
    ends = _run_ends(mask)
    positions = torch.arange(mask.shape[-1], device=mask.device).expand_as(ends)
    stops = ends if window == 0 else torch.minimum(positions + window, ends)
    sums = F.pad(steps.cumsum(-1), (1, 0))  # sums[k] = Σ_{j<k} step_j
    window_sums = sums.gather(-1, stops) - sums[..., :-1]
    inside = stops < ends
    after_end = torch.zeros_like(values)
    if tail_values is not None:
        row_ends = (mask * (positions + 1)).amax(-1, keepdim=True)  # one past the last kept
        after_end = torch.where(ends == row_ends, tail_values.float().unsqueeze(-1), after_end)
    next_values = torch.where(inside, values.gather(-1, stops.clamp(max=mask.shape[-1] - 1)),
                              after_end)
    return (next_values - values + window_sums) * mask


def pcl_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, actions: torch.Tensor,
             mask: torch.Tensor, tau: float = 1.0, window: int = 1,
             values: torch.Tensor | None = None,
             tail_values: torch.Tensor | None = None) -> torch.Tensor:
    """mean over kept positions of ½·C_t²."""
    residuals = pcl_residuals(student_logits, teacher_logits, actions, mask, tau, window, values,
                              tail_values)
    return masked_mean(0.5 * residuals ** 2, mask)


def _run_ends(mask: torch.Tensor) -> torch.Tensor:
    """For each position, one past the last position of the run of kept positions it belongs to
    (the next run end at or after it; at most the row length)."""
    length = mask.shape[-1]
    following = F.pad(mask[..., 1:], (0, 1), value=False)
    is_last = mask & ~following
    positions = torch.arange(length, device=mask.device).expand(mask.shape)
    last = torch.where(is_last, positions, torch.full_like(positions, length))
    next_last = last.flip(-1).cummin(-1).values.flip(-1)
    return (next_last + 1).clamp(max=length)

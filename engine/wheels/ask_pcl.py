"""The constrained PCL stage of learning to ask (Training Wheels part 2, after the warm start).

The warm-started asker trains on its own rollouts. At each budget level B stated in the prompt
it samples continuations over its whole vocabulary, `<ask>` included; an ask lets the teacher
write the next token (its greedy token by default), and that token, not `<ask>`, enters both
contexts, as at test time. A step's reward is the teacher's log-probability of the token written
there, minus λ_B where the student asked; PCL (objectives/pcl.py's path_residuals) fits the
student's logits over vocab + ask, as soft Q-values, to it. After each batch of rollouts the
dual update raises λ_B where level B asked more than B and lowers it, never below 0, where it
asked less: the Lagrangian of "maximise the return, asking at most B of the tokens on average".

Rollouts have no hard cap (the learned policy meets the budget on average; the cap stays in
decoding at test time). They run through decoding.assisted_generate, KV caches and the lazy
teacher included, with a policy that asks with the student's probability of `<ask>`, while the
decoder samples the written token from the shared columns: the two together draw exactly one
sample of the softmax over vocab + ask.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from engine.in_process import Stopped
from engine.student.distilling import ValueHead
from engine.student.objectives.pcl import path_residuals, soft_values
from engine.student.objectives.tokens import chosen, masked_mean
from engine.wheels.ask_pcl_state import PCLCheckpoints, restore_rng
from engine.wheels.ask_report import level_key
from engine.wheels.ask_settings import AskPCL
from engine.wheels.ask_training import Reference
from engine.wheels.budget import Cap
from engine.wheels.decoding import DecodeOptions, Models, assisted_generate, left_pad
from engine.wheels.policies import Policy, StepView
from store.errors import UndoError

Progress = Callable[[int, int, dict], None]


@dataclass(frozen=True)
class Rollout:
    level: float
    student_prompt: list[int]
    teacher_prompt: list[int]
    tokens: list[int]  # the written ids (the teacher's where asked), EOS included when finished
    asked: list[bool]  # per written id: the student asked there
    finished: bool  # ended by an EOS rather than cut at max_new_tokens


class SampledAsk(Policy):
    """Asks with the student's probability of `<ask>` under softmax(z/temperature) over its
    whole vocabulary (training rollouts; at test time the `learned` policy is greedy)."""

    name = "sampled-ask"

    def __init__(self, ask_token_id: int, temperature: float, seed: int):
        self.ask_token_id = ask_token_id
        self.temperature = temperature
        self.generator = torch.Generator().manual_seed(seed)

    def wants(self, view: StepView) -> torch.Tensor:
        probs = torch.softmax(view.student_full.float() / self.temperature, dim=-1)
        return torch.bernoulli(probs[:, self.ask_token_id], generator=self.generator).bool()


def step_rows(references: Sequence[Reference], levels: Sequence[float], rollouts: int,
              step: int) -> list[tuple[float, Reference]]:
    """The (level, reference) rows of a step: the same `rollouts` references at every level, in
    turn through the references."""
    start = step * rollouts
    chosen_refs = [references[(start + k) % len(references)] for k in range(rollouts)]
    return [(level, reference) for level in levels for reference in chosen_refs]


def sample_rollouts(models: Models, rows: Sequence[tuple[float, Reference]], settings: AskPCL,
                    seed: int) -> list[Rollout]:
    """One batch of rollouts of the student in `models` (its `<ask>` id set), uncapped."""
    if models.ask_token_id is None:
        raise ValueError("ask rollouts need the student's <ask> id (Models.ask_token_id)")
    options = DecodeOptions(max_new_tokens=settings.max_new_tokens, do_sample=True,
                            temperature=settings.temperature, seed=seed,
                            teacher_do_sample=settings.teacher_sample)
    policy = SampledAsk(models.ask_token_id, settings.temperature, seed + 3)
    outputs = assisted_generate(models, [r.student_prompts[level] for level, r in rows],
                                [r.teacher_prompt for _, r in rows], policy, Cap("none"), options)
    return [Rollout(level, list(r.student_prompts[level]), list(r.teacher_prompt), o.token_ids,
                    o.owners, o.finished) for (level, r), o in zip(rows, outputs)]


def level_usage(rollouts: Sequence[Rollout]) -> dict[float, float]:
    """Per level: asks / tokens written over that level's rollouts (0 when none were written)."""
    asks: dict[float, int] = {}
    tokens: dict[float, int] = {}
    for rollout in rollouts:
        asks[rollout.level] = asks.get(rollout.level, 0) + sum(rollout.asked)
        tokens[rollout.level] = tokens.get(rollout.level, 0) + len(rollout.tokens)
    return {level: asks[level] / tokens[level] if tokens[level] else 0.0 for level in asks}


def dual_update(lambdas: dict[float, float], usage: dict[float, float],
                eta: float) -> dict[float, float]:
    """λ_B ← max(0, λ_B + η·(usage_B − B)) for every level measured (the others unchanged)."""
    return {level: max(0.0, value + eta * (usage[level] - level)) if level in usage else value
            for level, value in lambdas.items()}


def ask_residuals(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                  written: torch.Tensor, asked: torch.Tensor, mask: torch.Tensor,
                  penalties: torch.Tensor, ask_id: int, tau: float = 1.0, window: int = 1,
                  values: torch.Tensor | None = None,
                  tail_values: torch.Tensor | None = None) -> torch.Tensor:
    """PCL residuals (batch, steps) of rollouts with asks. r_t = log π_T(written_t | s_t) −
    penalty·[asked_t] (penalties (batch,): each row's λ); the action is `<ask>` where asked, else
    the written token, its log-probability from `student_logits` over vocab + ask. The teacher's
    logits cover the shared vocabulary."""
    teacher_logp = chosen(F.log_softmax(teacher_logits.detach().float(), dim=-1), written)
    rewards = teacher_logp - penalties.float().unsqueeze(-1) * asked.float()
    actions = torch.where(asked.bool(), torch.full_like(written, ask_id), written)
    return path_residuals(student_logits, rewards, actions, mask, tau, window, values,
                          tail_values)


def step_logits(model, prompts: Sequence[Sequence[int]], continuations: Sequence[Sequence[int]],
                pad_id: int, hidden: bool = False):
    """(logits [B, L+1, V], last hidden states [B, L+1, H] or None): position t predicts
    continuation token t (t = L: the state after the longest continuation). Prompts are
    left-padded and continuations right-padded, so every row's steps share columns and only the
    last L+1 positions' logits are computed."""
    prompt_ids, prompt_real = left_pad(prompts, pad_id)
    width = max(len(c) for c in continuations)
    tail_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    tail_real = torch.zeros((len(prompts), width), dtype=torch.bool)
    for i, continuation in enumerate(continuations):
        tail_ids[i, :len(continuation)] = torch.tensor(list(continuation), dtype=torch.long)
        tail_real[i, :len(continuation)] = True
    mask = torch.cat([prompt_real, tail_real], dim=1).long()
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    device = model.device
    out = model(input_ids=torch.cat([prompt_ids, tail_ids], dim=1).to(device),
                attention_mask=mask.to(device), position_ids=positions.to(device),
                use_cache=False, logits_to_keep=width + 1, output_hidden_states=hidden)
    states = out.hidden_states[-1][:, -(width + 1):] if hidden else None
    return out.logits, states


def step_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    return torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)


def rollout_loss(models: Models, rollouts: Sequence[Rollout], lambdas: dict[float, float],
                 settings: AskPCL, head: ValueHead | None = None) -> tuple[torch.Tensor, float]:
    """(mean ½C² over the rollouts' steps, the mean squared residual) for the student in
    `models`, gradients flowing to it and to `head` (V from the head, else τ·logsumexp)."""
    student, ask_id = models.student, models.ask_token_id
    continuations = [r.tokens for r in rollouts]
    logits, states = step_logits(student, [r.student_prompt for r in rollouts], continuations,
                                 models.pad_id, hidden=head is not None)
    logits = logits[..., :ask_id + 1].float().cpu()
    with torch.no_grad():
        teacher, _ = step_logits(models.teacher, [r.teacher_prompt for r in rollouts],
                                 continuations, models.pad_id)
    width = logits.shape[1] - 1
    lengths = torch.tensor([len(c) for c in continuations])
    written = torch.full((len(rollouts), width), models.pad_id, dtype=torch.long)
    asked = torch.zeros((len(rollouts), width), dtype=torch.bool)
    for i, rollout in enumerate(rollouts):
        written[i, :len(rollout.tokens)] = torch.tensor(rollout.tokens, dtype=torch.long)
        asked[i, :len(rollout.asked)] = torch.tensor(rollout.asked, dtype=torch.bool)
    rows = torch.arange(len(rollouts))
    if head is not None:
        values = head(states).float().cpu()
        tails, values = values[rows, lengths], values[:, :width]
    else:
        tails, values = soft_values(logits[rows, lengths], settings.tau), None
    cut = torch.tensor([not r.finished for r in rollouts])
    mask = step_mask(lengths, width)
    penalties = torch.tensor([lambdas[r.level] for r in rollouts])
    residuals = ask_residuals(logits[:, :width], teacher[:, :width, :models.vocab_size].cpu(),
                              written, asked, mask, penalties, ask_id, settings.tau,
                              settings.window, values, torch.where(cut, tails, 0.0))
    loss = masked_mean(0.5 * residuals ** 2, mask)
    return loss, float(masked_mean(residuals.detach() ** 2, mask))


def anchor_loss(models: Models, rows: Sequence[tuple[float, Reference]]) -> torch.Tensor:
    """Cross-entropy of the reference continuations over the shared vocabulary only: it anchors
    the student's writing without pushing `<ask>` down."""
    continuations = [r.continuation for _, r in rows]
    logits, _ = step_logits(models.student, [r.student_prompts[level] for level, r in rows],
                            continuations, models.pad_id)
    width = logits.shape[1] - 1
    targets = torch.zeros((len(rows), width), dtype=torch.long)
    for i, continuation in enumerate(continuations):
        targets[i, :len(continuation)] = torch.tensor(continuation, dtype=torch.long)
    mask = step_mask(torch.tensor([len(c) for c in continuations]), width)
    logp = F.log_softmax(logits[:, :width, :models.vocab_size].float().cpu(), dim=-1)
    return masked_mean(-chosen(logp, targets), mask)


def train_ask_pcl(models: Models, references: Sequence[Reference], levels: Sequence[float],
                  settings: AskPCL, progress: Progress | None = None,
                  lambdas: dict[float, float] | None = None,
                  checkpoints: PCLCheckpoints | None = None) -> list[dict[str, float]]:
    """Train `models.student` (the warm-started asker, its `<ask>` id in `models`) in place by
    constrained PCL for `settings.steps` steps; the metrics of every step, also given to
    `progress(step, total, metrics)`: loss (PCL's plus ce_weight x ce), residual_ms, ce, tokens
    (written in the step's rollouts), and per level λ (after the step's dual update) and the
    usage measured in its rollouts. `lambdas` gives each
    level's starting λ (default: settings.lambda_init for all). With `checkpoints`, the stage
    continues from its newest saved state, saves one when due, and on a stop request (asked
    between steps) saves one and raises Stopped."""
    if not references:
        raise UndoError("ask PCL: no references to take prompts from")
    student = models.student
    head = None
    if settings.value == "head":
        head = ValueHead(student.get_input_embeddings().embedding_dim).to(student.device)
    parameters = list(student.parameters()) + (list(head.parameters()) if head else [])
    optimizer = torch.optim.AdamW(parameters, lr=settings.lr)
    lambdas = {level: (lambdas or {}).get(level, settings.lambda_init) for level in levels}
    history, start = [], 0
    saved = checkpoints.prepare(settings, levels, references) if checkpoints else None
    if saved is not None:
        start, history, lambdas = saved["step"], saved["history"], saved["lambdas"]
        student.load_state_dict(saved["student"])
        if head is not None:
            head.load_state_dict(saved["head"])
        optimizer.load_state_dict(saved["optimizer"])
        restore_rng(saved)
    if checkpoints is not None and checkpoints.started is not None:
        checkpoints.started(start)
    for step in range(start, settings.steps):
        metrics = _pcl_step(models, references, levels, settings, step, lambdas, head,
                            optimizer, parameters)
        lambdas = {level: metrics[f"lambda_{level_key(level)}"] for level in levels}
        history.append(metrics)
        if progress is not None:
            progress(step + 1, settings.steps, metrics)
        if checkpoints is not None and step + 1 < settings.steps:
            stop = checkpoints.should_stop is not None and checkpoints.should_stop()
            if stop or checkpoints.saving.due(step + 1, final=False):
                checkpoints.save({"step": step + 1, "history": history, "lambdas": lambdas,
                                  "student": student.state_dict(),
                                  "head": head.state_dict() if head is not None else None,
                                  "optimizer": optimizer.state_dict()})
            if stop:
                raise Stopped
    student.eval()
    return history


def _pcl_step(models: Models, references: Sequence[Reference], levels: Sequence[float],
              settings: AskPCL, step: int, lambdas: dict[float, float], head, optimizer,
              parameters) -> dict[str, float]:
    """One step: rollouts at every level, the PCL update, the dual update; its metrics."""
    student = models.student
    rows = step_rows(references, levels, settings.rollouts, step)
    student.eval()
    rollouts = sample_rollouts(models, rows, settings, settings.seed + 101 * step)
    usage = level_usage(rollouts)
    student.train()
    loss, residual_ms = rollout_loss(models, rollouts, lambdas, settings, head)
    ce = anchor_loss(models, rows) if settings.ce_weight > 0 else torch.zeros(())
    total = loss + settings.ce_weight * ce
    optimizer.zero_grad()
    total.backward()
    torch.nn.utils.clip_grad_norm_(parameters, settings.max_grad_norm)
    optimizer.step()
    lambdas = dual_update(lambdas, usage, settings.eta)
    metrics = {"loss": float(total.detach()), "residual_ms": residual_ms,
               "ce": float(ce.detach()), "tokens": float(sum(len(r.tokens) for r in rollouts))}
    for level in levels:
        metrics[f"lambda_{level_key(level)}"] = lambdas[level]
        metrics[f"usage_{level_key(level)}"] = usage[level]
    return metrics


def with_ask(models: Models, ask_id: int) -> Models:
    """The same pair with the student's `<ask>` id set (after add_ask_token)."""
    return replace(models, ask_token_id=ask_id)

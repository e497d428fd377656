"""Batched assisted decoding: the student writes, and asks the teacher for single tokens.

Both models keep their own KV cache over the batch. The student reads every token as it is
written. The teacher is lazy: it reads nothing until a token is asked of it, then catches up on
every token written since its last call in one forward (a prefill of the gap) whose last logits
give the token it writes, so each token is read by the teacher at most once (a full recompute
per ask is kept as an option for the benchmark and the tests). One teacher call serves every
row that asks at that step; the rows that did not ask are read along, which they would need at
their own next ask anyway. Teacher tokens processed counts exactly what the teacher read (rows
already finished are masked out and not counted).

The two models may read different prompts (the teacher its few-shot template, the student the
bare question it was trained on) and share only the continuation. Positions come from each
row's own count of real tokens, so a left-padded row decodes as it would alone: with the
`student` and `teacher` policies the output equals each model's plain greedy `generate()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from engine.wheels.budget import BudgetController, Cap, Ledger
from engine.wheels.policies import Policy, StepView


@dataclass(frozen=True)
class DecodeOptions:
    max_new_tokens: int = 256
    do_sample: bool = False
    temperature: float = 1.0
    seed: int = 0
    keep_teacher_cache: bool = True  # False: recompute the whole prefix at every teacher call
    teacher_do_sample: bool | None = None  # None: as do_sample (ask training samples the
    # student's actions but takes the teacher's greedy token)


@dataclass
class AssistedOutput:
    token_ids: list[int]  # every generated id, the EOS included when the sequence finished
    owners: list[bool]  # per generated id: True where the teacher wrote it
    finished: bool  # ended with an EOS (else cut at max_new_tokens)
    teacher_tokens: int = 0  # tokens the teacher read for this row (prefill + catch-up)
    teacher_calls: int = 0  # teacher forwards that read at least one token of this row
    teacher_forwards: int = 0  # speculative only: teacher passes (verification steps)

    @property
    def new_tokens(self) -> int:
        return len(self.token_ids)

    @property
    def asks(self) -> int:
        return sum(self.owners)

    def text_ids(self) -> list[int]:
        """The ids without the final EOS (what is decoded into text)."""
        return self.token_ids[:-1] if self.finished else list(self.token_ids)


@dataclass
class Models:
    """A same-tokenizer pair ready to decode: see engine.wheels.pair.check_pair."""

    student: object
    teacher: object
    vocab_size: int  # logits are compared on [:vocab_size]
    eos_ids: list[int]
    pad_id: int
    ask_token_id: int | None = None


class CachedModel:
    """One model over a batch: its KV cache, its attention mask and each row's real length."""

    def __init__(self, model, pad_id: int, keep_cache: bool = True):
        self.model = model
        self.pad_id = pad_id
        self.keep_cache = keep_cache
        self.cache = None
        self.ids: torch.Tensor | None = None  # everything read so far (for recompute mode)
        self.mask: torch.Tensor | None = None  # [B, T] 1 where a real token was read
        self.read = 0  # forwards made

    def forward(self, ids: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Read `ids` [B, w] (real marks the tokens that count) and return the last logits [B, V]."""
        real = real.long()
        self.mask = real if self.mask is None else torch.cat([self.mask, real], dim=1)
        self.ids = ids if self.ids is None else torch.cat([self.ids, ids], dim=1)
        if self.keep_cache:
            feed, past = ids, self.cache
        else:
            feed, past = self.ids, None
        width = feed.shape[1]
        positions = (self.mask.cumsum(dim=1) - 1).clamp(min=0)[:, -width:]
        with torch.inference_mode():
            out = self.model(input_ids=feed.to(self.model.device),
                             attention_mask=self.mask.to(self.model.device),
                             position_ids=positions.to(self.model.device), cache=past,
                             use_cache=self.keep_cache, logits_to_keep=1)
        if self.keep_cache:
            self.cache = out.cache
        self.read += 1
        return out.logits[:, -1, :].float().cpu()


class LazyTeacher:
    """The teacher's side: reads prompt and continuation only when a token is asked of it."""

    def __init__(self, model, prompts: Sequence[Sequence[int]], pad_id: int, keep_cache: bool):
        self.side = CachedModel(model, pad_id, keep_cache)
        self.prompts = [list(p) for p in prompts]
        self.pad_id = pad_id
        self.synced = 0  # generated tokens read so far (the same for every row)
        self.logits: torch.Tensor | None = None  # predicts generated token `synced`
        rows = len(self.prompts)
        self.tokens_read = torch.zeros(rows, dtype=torch.long)
        self.calls = torch.zeros(rows, dtype=torch.long)

    def logits_at(self, step: int, generated: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
        """Teacher logits predicting generated token `step`; reads what it has not read yet."""
        if self.logits is not None and self.synced == step:
            return self.logits
        gap = generated[:, self.synced:step]
        real_gap = active[:, None].expand_as(gap)
        if self.side.mask is None:  # first call: the prompts, then everything written so far
            ids, real = left_pad(self.prompts, self.pad_id)
            ids, real = torch.cat([ids, gap], dim=1), torch.cat([real, real_gap], dim=1)
        else:
            ids, real = gap, real_gap
        self.logits = self.side.forward(ids, real)
        if self.side.keep_cache:
            counted = real.sum(dim=1)
        else:  # recompute: every active row's whole prefix is read again
            counted = self.side.mask.sum(dim=1) * active.long()
        self.tokens_read += counted
        self.calls += (counted > 0).long()
        self.synced = step
        return self.logits


def left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """ids [B, T] and a bool mask of the real tokens, each row right-aligned."""
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    real = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
            real[i, width - len(row):] = True
    return ids, real


@dataclass
class _Sampler:
    options: DecodeOptions
    generator: torch.Generator = field(default_factory=torch.Generator)
    do_sample: bool | None = None  # None: options.do_sample

    def pick(self, logits: torch.Tensor) -> torch.Tensor:
        if not (self.options.do_sample if self.do_sample is None else self.do_sample):
            return logits.argmax(dim=-1)
        probs = torch.softmax(logits / self.options.temperature, dim=-1)
        return torch.multinomial(probs, 1, generator=self.generator).squeeze(1)


def assisted_generate(models: Models, student_prompts: Sequence[Sequence[int]],
                      teacher_prompts: Sequence[Sequence[int]], policy: Policy, cap: Cap,
                      options: DecodeOptions,
                      controller: BudgetController | None = None,
                      ledger: Ledger | None = None) -> list[AssistedOutput]:
    """Decode one batch; `controller` (shared across a sweep point's batches) picks the asks of
    scored policies, and the cap bounds every policy's asks, per sequence or, for a point cap,
    over the point's tally (`ledger`, shared across its batches; the controller is one)."""
    if len(student_prompts) != len(teacher_prompts) or not student_prompts:
        raise ValueError("need one student and one teacher prompt per sequence")
    if policy.scored and controller is None:
        raise ValueError(f"policy {policy.name!r} needs a budget controller")
    tally = controller if controller is not None else ledger if ledger is not None else Ledger()
    tiebreak = torch.Generator().manual_seed(options.seed + 2)
    rows, vocab = len(student_prompts), models.vocab_size
    student = CachedModel(models.student, models.pad_id)
    teacher = LazyTeacher(models.teacher, teacher_prompts, models.pad_id,
                          options.keep_teacher_cache)
    student_pick = _Sampler(options, torch.Generator().manual_seed(options.seed))
    teacher_pick = _Sampler(options, torch.Generator().manual_seed(options.seed + 1),
                            options.teacher_do_sample)
    eos = torch.tensor(models.eos_ids, dtype=torch.long)
    generated = torch.full((rows, options.max_new_tokens), models.pad_id, dtype=torch.long)
    owners = torch.zeros((rows, options.max_new_tokens), dtype=torch.bool)
    lengths = torch.zeros(rows, dtype=torch.long)
    asks = torch.zeros(rows, dtype=torch.long)
    finished = torch.zeros(rows, dtype=torch.bool)
    ids, real = left_pad(student_prompts, models.pad_id)
    # a policy that always asks never uses the student: it is not run at all
    logits = student.forward(ids, real) if policy.needs_student else torch.zeros(rows, vocab)
    for step in range(options.max_new_tokens):
        active = ~finished
        view = StepView(_shared(logits, vocab, models.ask_token_id), logits, None)
        if policy.needs_teacher_everywhere:
            view.teacher_logits = teacher.logits_at(step, generated, active)[:, :vocab]
        allowed = active & cap.allows(asks, lengths)
        ask, priority = _decide(policy, view, controller, active, allowed, tiebreak)
        ask = _within_room(ask & allowed, priority,
                           cap.room(tally.asks, tally.tokens, int(active.sum())))
        token = student_pick.pick(view.student_logits)
        if ask.any():
            teacher_logits = teacher.logits_at(step, generated, active)[:, :vocab]
            token = torch.where(ask, teacher_pick.pick(teacher_logits), token)
        token = torch.where(active, token, torch.full_like(token, models.pad_id))
        generated[:, step], owners[:, step] = token, ask
        lengths += active.long()
        asks += ask.long()
        tally.record(int(ask.sum()), int(active.sum()))
        finished |= active & torch.isin(token, eos)
        if bool(finished.all()) or step + 1 == options.max_new_tokens:
            break
        if policy.needs_student:
            logits = student.forward(token[:, None], (~finished)[:, None])
    return [AssistedOutput(token_ids=generated[i, :lengths[i]].tolist(),
                           owners=owners[i, :lengths[i]].tolist(), finished=bool(finished[i]),
                           teacher_tokens=int(teacher.tokens_read[i]),
                           teacher_calls=int(teacher.calls[i]))
            for i in range(rows)]


def _shared(logits: torch.Tensor, vocab: int, ask_token_id: int | None) -> torch.Tensor:
    """The student's logits over the shared vocabulary (its own <ask> column left out)."""
    shared = logits[:, :vocab]
    if ask_token_id is not None and ask_token_id < vocab:
        shared = shared.clone()
        shared[:, ask_token_id] = float("-inf")
    return shared


def _decide(policy: Policy, view: StepView, controller: BudgetController | None,
            active: torch.Tensor, allowed: torch.Tensor,
            tiebreak: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows that ask, and a priority per row for when a point cap has room for fewer: the
    need scores of a scored policy, a random order for a rule policy (no row is favoured)."""
    if not policy.scored:
        wanted = policy.wants(view)
        return wanted, torch.rand(wanted.shape[0], generator=tiebreak)
    scores = policy.scores(view)
    wanted = torch.zeros(scores.shape[0], dtype=torch.bool)
    if bool(active.any()):
        wanted[active] = controller.choose(scores[active], allowed[active])
    return wanted, scores.double()


def _within_room(ask: torch.Tensor, priority: torch.Tensor, room: int | None) -> torch.Tensor:
    """At most `room` asks (None: no limit), keeping the highest priorities."""
    if room is None or int(ask.sum()) <= room:
        return ask
    kept = torch.zeros_like(ask)
    if room > 0:
        ranked = torch.where(ask, priority.double(), torch.tensor(float("-inf"), dtype=torch.float64))
        kept[torch.topk(ranked, room).indices] = True
    return kept & ask

"""Distillation objectives in the student trainer: the teacher, which data a batch trains on, and
which loss (engine/student/objectives) it gets.

The teacher loads once, in the training process, in the student's compute dtype on its device,
in eval mode with gradients off; its logits are computed on the fly for every batch (no cache:
on-policy batches are new each time, and a cache of the references' logits holds a row over the
whole vocabulary per token, e.g. 150 examples x 300 tokens x 49152 in bf16 = 4.4 GB for
SmolLM2; top-k logits would change the losses).

on_policy and pcl train on continuations the student samples from the batch's prompts for a
share `on_policy_ratio` of the batches (interleaved by batch number, so a resumed training
samples where the uninterrupted one did); the other batches (all of kd's) are off-policy data:
the batch's reference tokens, or with `off_policy = "teacher"` continuations the teacher samples
from the same prompts (sequence-level KD's data), or with `off_policy = "replay"` the student's
recent samples again (engine/student/replay.py). The cross-entropy anchor is always on the
references.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch

from engine.config.training import SAMPLING_OBJECTIVES, TrainConfig
from engine.errors import ConfigError
from engine.student.data import count_tokens
from engine.student.loading import (ModelLoadError, load_model, load_tokenizer, model_identity,
                                    resolve_model_dir)
from engine.student.objectives.kd import forward_kl
from engine.student.objectives.on_policy import generalized_jsd
from engine.student.objectives.pcl import pcl_residuals, soft_values
from engine.student.objectives.tokens import IGNORE, align, chosen, masked_mean
from engine.student.replay import ReplayBuffer
from engine.student.sampling import sample_batch
from engine.wheels.pair import PairMismatch, check_pair
from store.errors import UndoError

# What a distillation step reports beside its loss (Trainer logs, progress events).
LOSS_PARTS = ("kl", "jsd", "residual_ms", "ce", "on_policy", "sample_s", "teacher_sample_s")
FIELD = "training.teacher_model"


def checked_teacher(config: TrainConfig, student_tokenizer) -> tuple[Path, str]:
    """(the teacher's model directory, its identity), refused before any training when it cannot
    be found or does not share the student's tokenizer; every message names the key."""
    from engine.model_registry import model_path

    try:
        directory = resolve_model_dir(model_path(config.teacher_model))
        tokenizer = load_tokenizer(directory)
    except (UndoError, ModelLoadError, OSError) as exc:
        raise ConfigError(f"{FIELD}: {exc}") from None
    try:
        check_pair(student_tokenizer, tokenizer, "the student", f"teacher {config.teacher_model!r}")
    except PairMismatch as exc:
        raise PairMismatch(f"{FIELD}: {exc}") from None
    return directory, model_identity(directory)


def load_teacher(directory: Path, dtype: torch.dtype, device: str):
    """The teacher in eval mode with every parameter frozen."""
    teacher = load_model(directory, dtype, device)
    teacher.eval()
    teacher.requires_grad_(False)
    return teacher


def takes_sample(batch_number: int, ratio: float) -> bool:
    """Whether batch n is on-policy: exactly floor(n·ratio) of the first n batches are, spread
    evenly (ratio 0.5: every second batch)."""
    return math.floor((batch_number + 1) * ratio) > math.floor(batch_number * ratio)


class ValueHead(torch.nn.Module):
    """pcl's V(s) as a linear function of the student's last hidden state, zero at the start
    (V* = 0 is the optimum for tau = 1). It is attached to the trained model as a submodule, so
    the Trainer's optimizer, gradient clipping and zeroing cover it, and taken off before the
    student is saved: the student's policy is its logits alone."""

    NAME = "undo_value_head"
    FILE = "undo_value_head.pt"

    def __init__(self, hidden_size: int):
        super().__init__()
        self.linear = torch.nn.Linear(hidden_size, 1)
        torch.nn.init.zeros_(self.linear.weight)
        torch.nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden.to(self.linear.weight.dtype)).squeeze(-1)

    @classmethod
    def attach(cls, model) -> ValueHead:
        head = cls(model.get_input_embeddings().embedding_dim).to(model.device)
        model.add_module(cls.NAME, head)
        return head

    @classmethod
    def detach_from(cls, model) -> None:
        if hasattr(model, cls.NAME):
            delattr(model, cls.NAME)

    def save(self, checkpoint: Path) -> None:
        """Into a Trainer checkpoint (a LoRA checkpoint holds only the adapter)."""
        torch.save(self.state_dict(), Path(checkpoint) / self.FILE)

    def load(self, checkpoint: Path) -> None:
        self.load_state_dict(torch.load(Path(checkpoint) / self.FILE, map_location="cpu"))


class Distillation:
    """One objective's loss for a batch, with its parts."""

    def __init__(self, config: TrainConfig, teacher, pad_id: int, eos_ids: list[int],
                 value_head: ValueHead | None = None):
        self.config = config
        self.teacher = teacher
        self.pad_id = pad_id
        self.eos_ids = eos_ids
        self.value_head = value_head
        self.trained_tokens = 0  # real tokens of the last batch a loss was computed on
        self.replay = ReplayBuffer(config.replay_size) if config.off_policy == "replay" else None

    def loss(self, model, inputs: dict, batch_number: int, generator=None) -> tuple[torch.Tensor, dict]:
        """(loss, parts). `model` is what the Trainer trains; `generator` the same model
        unwrapped for generate() (defaults to `model`)."""
        config, parts = self.config, {}
        samples = config.objective in SAMPLING_OBJECTIVES
        sampled = samples and takes_sample(batch_number, config.on_policy_ratio)
        if samples:
            parts["on_policy"] = float(sampled)
        batch = inputs
        if sampled:
            started = time.perf_counter()
            temperature = config.temperature if config.objective == "on_policy" else config.tau
            batch = sample_batch(generator or model, inputs, config.max_new_tokens, temperature,
                                 self.pad_id, self.eos_ids)
            parts["sample_s"] = time.perf_counter() - started
            if self.replay is not None:
                self.replay.add(batch)
        elif self.replay is not None:
            batch = self.replay.pick(batch_number, inputs["input_ids"].device) or inputs
        elif config.off_policy == "teacher":  # the teacher's own samples at temperature 1
            started = time.perf_counter()
            batch = sample_batch(self.teacher, inputs, config.max_new_tokens, 1.0, self.pad_id,
                                 self.eos_ids)
            parts["teacher_sample_s"] = time.perf_counter() - started
        self.trained_tokens = count_tokens(batch)
        out = _forward(model, batch, hidden=self.value_head is not None)
        with torch.no_grad():
            teacher_logits = _forward(self.teacher, batch).logits
        width = min(out.logits.shape[-1], teacher_logits.shape[-1])
        student, actions, mask = align(out.logits[..., :width], batch["labels"])
        teacher = teacher_logits[:, :-1, :width]
        if config.objective == "pcl":
            loss = self._pcl(out, width, batch["labels"], student, teacher, actions, mask, parts)
        else:
            loss = self._divergence(student, teacher, mask, parts)
        if config.ce_weight > 0:
            logits = out.logits if batch is inputs else _forward(model, inputs).logits
            parts["ce"] = cross_entropy(*align(logits, inputs["labels"]))
            loss = loss + config.ce_weight * parts["ce"]
        return loss, {name: float(torch.as_tensor(value).detach()) for name, value in parts.items()}

    def _divergence(self, student, teacher, mask, parts: dict) -> torch.Tensor:
        config = self.config
        if config.objective == "kd":
            parts["kl"] = forward_kl(student, teacher, mask, config.temperature)
            return parts["kl"]
        parts["jsd"] = generalized_jsd(student, teacher, mask, config.beta, config.temperature)
        return parts["jsd"]

    def _pcl(self, out, width: int, labels, student, teacher, actions, mask,
             parts: dict) -> torch.Tensor:
        config = self.config
        values = None
        if self.value_head is not None:
            values = self.value_head(out.hidden_states[-1])
        last, cut = last_targets(labels, self.eos_ids)
        rows = torch.arange(labels.shape[0], device=labels.device)
        if values is None:  # V where each row was cut, from the logits there
            tails = soft_values(out.logits[rows, last, :width], config.tau)
        else:
            tails, values = values[rows, last], values[:, :-1]
        tails = torch.where(cut, tails, torch.zeros_like(tails))
        residuals = pcl_residuals(student, teacher, actions, mask, config.tau, config.pcl_window,
                                  values, tails)
        parts["residual_ms"] = masked_mean(residuals.detach() ** 2, mask)
        return masked_mean(0.5 * residuals ** 2, mask)


def last_targets(labels: torch.Tensor, eos_ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(index of each row's last target, whether the row was cut there): a row whose last target
    is not an end-of-sequence token stopped at max_new_tokens or max_length, not by itself."""
    kept = labels != IGNORE
    positions = torch.arange(labels.shape[-1], device=labels.device).expand_as(labels)
    last = torch.where(kept, positions, torch.zeros_like(positions)).amax(-1)
    token = labels.gather(-1, last.unsqueeze(-1)).squeeze(-1)
    ends = torch.isin(token, torch.tensor(eos_ids, device=labels.device))
    return last, kept.any(-1) & ~ends


def cross_entropy(logits: torch.Tensor, actions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of the reference tokens (the SFT loss, as an anchor)."""
    return masked_mean(-chosen(torch.log_softmax(logits.float(), dim=-1), actions), mask)


def _forward(model, batch: dict, hidden: bool = False):
    keys = ("input_ids", "attention_mask", "position_ids")
    return model(**{k: batch[k] for k in keys if k in batch}, use_cache=False,
                 output_hidden_states=hidden)

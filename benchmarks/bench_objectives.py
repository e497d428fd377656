"""Distillation objectives' training cost: sft, kd, on_policy and pcl train the same student on the
same data in the same run, through the product's trainer (engine.student.training.train_student).

What is counted: trained tokens are the response tokens the loss sees (targets after the causal
shift; prompt and padding excluded), on whatever batch the objective trained on: the references,
or for a sampled batch the continuation the student wrote. Sampled tokens (on_policy, pcl) are the
part of those the student generated, counted again on their own. Rates leave out the first step
(warm-up: Trainer set-up, first forward, backward and optimizer step), reported on its own.

How it is timed: the benchmark wraps the product for the length of each training, measuring
rather than estimating: forward hooks on the teacher the trainer loads time every teacher forward
(scoring the batch), a wrapper around distilling.sample_batch times on-policy sampling, a wrapper
around count_tokens (called once per step with the batch the loss sees) counts the tokens, and the
progress callback marks each step's end. Objective knobs are the product's defaults
(on_policy_ratio 0.5, max_new_tokens 128, off_policy = references, pcl window 1).

quick: the tiny random same-tokenizer pair the tests use, 3 steps of batch 2 each, float32,
max_new_tokens 16; full: SmolLM2-135M-Instruct as teacher and its 10-of-30-layer copy as student
(shrunk here), 11 steps of batch 4 each, dtype auto.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from unittest import mock

from benchmarks.bench_wheels import pair_dirs
from benchmarks.report import Figure, emit

OBJECTIVES = ("sft", "kd", "on_policy", "pcl")
SAMPLING = ("on_policy", "pcl")
IGNORE = -100


@dataclass
class Tally:
    """Running totals of one training, copied at the end of every step."""

    at: float = 0.0  # perf_counter when copied
    teacher_s: float = 0.0
    sample_s: float = 0.0
    trained: int = 0
    sampled: int = 0

    def minus(self, earlier: Tally) -> Tally:
        return Tally(self.at - earlier.at, self.teacher_s - earlier.teacher_s,
                     self.sample_s - earlier.sample_s, self.trained - earlier.trained,
                     self.sampled - earlier.sampled)


@dataclass
class Measured:
    objective: str
    steps: int  # steps measured (the first left out)
    steady: Tally  # totals over the measured steps (`at`: their wall time)
    first: Tally  # totals of the first step
    sampled_steps: int
    seconds: float  # the whole train_student call, models loaded included

    def share(self, seconds: float) -> float:
        return seconds / self.steady.at


def response_tokens(batch: dict) -> int:
    """Targets the loss sees: labels after the causal shift that are not ignored."""
    return int((batch["labels"][:, 1:] != IGNORE).sum())


def _clock(model) -> float:
    """perf_counter once the model's device has finished its queued work."""
    if model.device.type == "cuda":
        import torch

        torch.cuda.synchronize(model.device)
    return time.perf_counter()


class Instruments:
    """The timing wrappers installed around the product for one training."""

    def __init__(self):
        self.now = Tally()
        self.started = 0.0
        self.marks: list[Tally] = []
        self.sampled_steps: list[bool] = []
        self._sampled_before = 0

    @contextmanager
    def installed(self):
        from engine.student import distilling, training

        wrappers = [(training, "load_teacher", self._timed_teacher),
                    (distilling, "sample_batch", self._timed_sampling),
                    (training, "count_tokens", self._counted),
                    (distilling, "count_tokens", self._counted),
                    (training.StudentTrainer, "train", self._marked_start)]
        with ExitStack() as stack:
            for owner, name, wrap in wrappers:
                stack.enter_context(mock.patch.object(owner, name, wrap(getattr(owner, name))))
            yield self

    def step_done(self, _event: dict) -> None:
        self.marks.append(replace(self.now, at=time.perf_counter()))
        self.sampled_steps.append(self.now.sampled > self._sampled_before)
        self._sampled_before = self.now.sampled

    def _timed_teacher(self, load):
        def load_teacher(*args, **kwargs):
            teacher = load(*args, **kwargs)
            entered: list[float] = []
            teacher.register_forward_pre_hook(lambda *_: entered.append(_clock(teacher)))
            teacher.register_forward_hook(lambda *_: self._add_teacher(_clock(teacher) - entered.pop()))
            return teacher
        return load_teacher

    def _add_teacher(self, seconds: float) -> None:
        self.now.teacher_s += seconds

    def _timed_sampling(self, sample):
        def sample_batch(model, *args, **kwargs):
            started = _clock(model)
            batch = sample(model, *args, **kwargs)
            self.now.sample_s += _clock(model) - started
            self.now.sampled += response_tokens(batch)
            return batch
        return sample_batch

    def _counted(self, count):
        def count_tokens(batch: dict) -> int:
            self.now.trained += response_tokens(batch)
            return count(batch)
        return count_tokens

    def _marked_start(self, train):
        def marked(trainer, *args, **kwargs):
            self.started = time.perf_counter()
            return train(trainer, *args, **kwargs)
        return marked


def measure(objective: str, student: Path, pairs, workdir: Path, config) -> Measured:
    from engine.student.training import train_student

    instruments = Instruments()
    configured = config.model_copy(update={"objective": objective})
    started = time.perf_counter()
    with instruments.installed():
        train_student(student, pairs, workdir / objective, configured,
                      progress=instruments.step_done)
    seconds = time.perf_counter() - started
    marks = instruments.marks
    if len(marks) < 2:
        raise RuntimeError(f"{objective}: {len(marks)} step(s); rates need at least 2")
    return Measured(objective, len(marks) - 1, marks[-1].minus(marks[0]),
                    marks[0].minus(Tally(at=instruments.started)),
                    sum(instruments.sampled_steps[1:]), seconds)


def training_pairs(n: int) -> list[tuple[str, str]]:
    """Built-in arithmetic problems (levels 1-3 in turn) with their worked solutions."""
    from engine.tasks.arith import generate_problems

    return [(p.question, p.rationale) for p in generate_problems(n, [1, 2, 3], seed=11)]


def run(quick: bool) -> list[Figure]:
    from engine.config.training import TrainConfig

    # one epoch of 3 or 11 steps; the tiny pair is faster in float32 than in bf16 on a CPU
    n, batch, max_new, dtype = (6, 2, 16, "float32") if quick else (44, 4, 128, "auto")
    with tempfile.TemporaryDirectory(prefix="bench-objectives-") as tmp:
        dirs = pair_dirs(quick, Path(tmp))
        if dirs is None:
            return []
        student, teacher = dirs
        config = TrainConfig(epochs=1, batch_size=batch, warmup_ratio=0.0, dtype=dtype,
                             teacher_model=str(teacher), max_new_tokens=max_new)
        pairs = training_pairs(n)
        label = (f"{'tiny random pair' if quick else 'SmolLM2-135M-Instruct -> 10-layer copy'}, "
                 f"{n} arith solutions, batch {batch}, {dtype}, max_new_tokens {max_new}")
        out: list[Figure] = []
        sft = None
        for objective in OBJECTIVES:  # sft first: the others' baseline
            got = measure(objective, student, pairs, Path(tmp), config)
            sft = sft or got
            out += [emit(figure) for figure in figures(got, None if got is sft else sft, label)]
    return out


def figures(got: Measured, sft: Measured | None, label: str) -> list[Figure]:
    """One objective's figures, against sft's (None: this is sft)."""
    objective, steady, first = got.objective, got.steady, got.first
    suffix = "" if sft is None else "_vs_sft"
    other = (steady.at - steady.teacher_s - steady.sample_s) / got.steps
    out = [
        Figure(f"objectives_tok_per_s_{objective}{suffix}", steady.trained / steady.at,
               "tok/s", sft and sft.steady.trained / sft.steady.at,
               f"{label}; response tokens the loss saw, {got.steps} steps after the first: "
               f"{steady.trained}"),
        Figure(f"objectives_s_per_step_{objective}{suffix}", steady.at / got.steps, "s",
               sft and sft.steady.at / sft.steps,
               f"per step: teacher {steady.teacher_s / got.steps:.3g} s, sampling "
               f"{steady.sample_s / got.steps:.3g} s, the rest {other:.3g} s; "
               f"train_student {got.seconds:.1f} s in all"),
        Figure(f"objectives_first_step_s_{objective}{suffix}", first.at, "s",
               sft and sft.first.at, "warm-up, left out of the rates: from Trainer.train() "
                                       "to the first step's end"),
    ]
    if objective != "sft":
        out.append(Figure(f"objectives_teacher_share_{objective}", got.share(steady.teacher_s),
                          "frac", note=f"teacher forwards {steady.teacher_s:.3g} s of "
                                       f"{steady.at:.3g} s"))
    if objective in SAMPLING:
        out += [
            Figure(f"objectives_sample_share_{objective}", got.share(steady.sample_s), "frac",
                   note=f"on-policy sampling in {got.sampled_steps} of {got.steps} steps"),
            Figure(f"objectives_sampled_tok_per_s_{objective}",
                   steady.sampled / steady.sample_s if steady.sample_s else 0.0, "tok/s",
                   note=f"{steady.sampled} tokens the student wrote, of {steady.trained} "
                        "trained; per second of sampling"),
        ]
    return out

"""What a distillation run measures: KL(teacher||student) on held-out continuations, on the live
model while it trains, and the distilled student's greedy strict accuracy at the end.

The KL is taken in eval mode (no dropout) under inference mode, between optimizer steps, and
draws no random numbers, so it changes nothing the training does: a resumed training measures
the same values at the same steps as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from transformers import TrainerCallback

from engine.student.teacher_kl import Continuation, HeldOutKL, held_out_kl
from engine.wheels.quality import Quality, summarise

Record = Callable[[int, str, HeldOutKL], None]  # (optimizer step, before|periodic|final, KL)


def logit_width(model) -> int:
    return int(model.get_output_embeddings().weight.shape[0])


class KLWatcher(TrainerCallback):
    """Measures before the first step (a training that starts from step 0), every `every`
    steps (0: never) and after the last step, and hands each figure to `record`."""

    def __init__(self, teacher, continuations: Sequence[Continuation], vocab_size: int,
                 every: int, record: Record):
        self.teacher = teacher
        self.continuations = list(continuations)
        self.vocab_size = min(vocab_size, logit_width(teacher))
        self.every = every
        self.record = record

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step == 0:
            self.measure(model, 0, "before")

    def on_step_end(self, args, state, control, model=None, **kwargs):
        step = state.global_step
        if step >= state.max_steps:
            self.measure(model, step, "final")
        elif self.every and step % self.every == 0:
            self.measure(model, step, "periodic")

    def measure(self, model, step: int, when: str) -> HeldOutKL:
        training = model.training
        model.eval()
        try:
            kl = held_out_kl(model, self.teacher, self.continuations,
                             min(self.vocab_size, logit_width(model)))
        finally:
            model.train(training)
        self.record(step, when, kl)
        return kl


@dataclass(frozen=True)
class Evaluation:
    """The distilled student's answers graded as every evaluation here is: strict (the
    headline), flexible (the last-number fallback) and format compliance, each with n and a
    Wilson interval, and a few outputs to read."""

    strict: Quality
    flexible: Quality
    answer_lines: Quality  # share of outputs with an explicit answer marker
    samples: list[dict]  # the first few: question, gold answer, output, strict answer

    def summary(self) -> dict:
        def brief(quality: Quality) -> dict:
            return {"correct": quality.correct, "n": quality.n, "low": quality.low,
                    "high": quality.high}

        return {"flexible": brief(self.flexible), "answer_lines": brief(self.answer_lines),
                "samples": self.samples}


def evaluate_student(student_dir: Path, examples: Sequence, answer_type: str,
                     system: str | None, max_new_tokens: int, batch_size: int,
                     device: str | None, should_stop=None, progress=None,
                     samples: int = 3) -> Evaluation:
    """Greedy answers of the student (float32: batched output equals one at a time), graded.
    Raises GenerationStopped on a stop request."""
    from engine.grading.answers import grade
    from engine.student.generation import generate_with_model, load_student

    model, tokenizer = load_student(Path(student_dir), None, "float32", device)
    outputs = generate_with_model(model, tokenizer, [e.question for e in examples],
                                  max_new_tokens, batch_size, progress, should_stop, system)
    graded = [grade(out.text, example.answer, answer_type, example.choices)
              for out, example in zip(outputs, examples)]
    return Evaluation(
        strict=summarise("accuracy", [float(g.correct) for g in graded]),
        flexible=summarise("accuracy", [float(g.flexible_correct) for g in graded]),
        answer_lines=summarise("accuracy", [float(g.has_answer_line) for g in graded]),
        samples=[{"question": e.question, "gold": e.answer, "output": out.text,
                  "answer": g.answer} for e, out, g in list(zip(examples, outputs, graded))[:samples]])

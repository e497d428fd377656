"""Quality of one output against its example: strict accuracy for answer-graded data, chrF
(sacrebleu) or ROUGE-L (rouge-score) against the reference for free text.

Every point's quality is stored with its 95% interval: Wilson for accuracy, a normal interval of
the mean for the text metrics (engine/stats.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from engine.grading.answers import grade
from engine.grading.stats import mean_interval, wilson_interval

TEXT_METRICS = ("chrf", "rougeL")


@dataclass(frozen=True)
class Scored:
    score: float  # 0/1 for accuracy, 0-100 for chrF and ROUGE-L
    answer: str | None = None  # the strict answer read from the output (accuracy only)


@dataclass(frozen=True)
class Quality:
    metric: str
    n: int
    value: float  # accuracy in [0, 1], or a mean text score in [0, 100]
    low: float
    high: float
    correct: int | None = None  # accuracy only


def resolve_metric(requested: str, answer_type: str) -> str:
    if requested != "auto":
        return requested
    return "chrf" if answer_type == "text" else "accuracy"


def score_output(metric: str, text: str, example, answer_type: str) -> Scored:
    if metric == "accuracy":
        graded = grade(text, example.answer, answer_type, example.choices)
        return Scored(1.0 if graded.correct else 0.0, graded.answer)
    if metric == "chrf":
        return Scored(float(_chrf().sentence_score(text, [example.answer]).score))
    if metric == "rougeL":
        return Scored(100.0 * _rouge().score(example.answer, text)["rougeL"].fmeasure)
    raise ValueError(f"unknown quality metric {metric!r}")


def summarise(metric: str, scores: list[float]) -> Quality:
    n = len(scores)
    if metric == "accuracy":
        correct = int(sum(scores))
        low, high = wilson_interval(correct, n)
        return Quality(metric, n, correct / n if n else 0.0, low, high, correct)
    low, high = mean_interval(scores)
    return Quality(metric, n, sum(scores) / n if n else 0.0, low, high)


@lru_cache(maxsize=1)
def _chrf():
    from sacrebleu.metrics import CHRF

    return CHRF()


@lru_cache(maxsize=1)
def _rouge():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)

"""Which of the student's validation errors to show the teacher beside a training question.

The brief asks for a few nearby errors, not all of them. "similar" ranks by TF-IDF cosine over
word tokens: no embedding model to download, and enough to pick errors on the same kind of problem.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass

_WORD = re.compile(r"[a-z]+|\d+")


@dataclass(frozen=True)
class ValError:
    example_id: int
    question: str
    student_answer: str | None
    gold: str
    category: str | None = None


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class ErrorIndex:
    """TF-IDF vectors of the validation errors, built once per iteration."""

    def __init__(self, errors: list[ValError]):
        self.errors = errors
        docs = [Counter(_tokens(e.question)) for e in errors]
        df = Counter(word for doc in docs for word in doc)
        n = max(len(docs), 1)
        self.idf = {word: math.log((1 + n) / (1 + count)) + 1 for word, count in df.items()}
        self.vectors = [self._vector(doc) for doc in docs]

    def _vector(self, counts: Counter) -> dict[str, float]:
        vec = {w: c * self.idf.get(w, 1.0) for w, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {w: v / norm for w, v in vec.items()}

    def nearest(self, question: str, n: int, exclude_id: int | None = None) -> list[ValError]:
        query = self._vector(Counter(_tokens(question)))
        scored = []
        for error, vec in zip(self.errors, self.vectors):
            if error.example_id == exclude_id:
                continue
            sim = sum(weight * vec.get(word, 0.0) for word, weight in query.items())
            scored.append((-sim, error.example_id, error))
        scored.sort(key=lambda item: (item[0], item[1]))
        return [error for _, _, error in scored[:n]]


def select_errors(index: ErrorIndex, question: str, category: str | None, n: int, mode: str,
                  seed: int, example_id: int) -> list[ValError]:
    if n <= 0 or not index.errors:
        return []
    if mode == "similar":
        return index.nearest(question, n, exclude_id=example_id)
    pool = [e for e in index.errors if e.example_id != example_id]
    if mode == "category":
        same = [e for e in pool if category is not None and e.category == category]
        pool = same or pool
    rng = random.Random(f"{seed}:{example_id}")
    return rng.sample(pool, min(n, len(pool)))

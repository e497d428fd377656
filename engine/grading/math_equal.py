"""Math answers compared with Hugging Face's math-verify (symbolic: roots, tuples, intervals, sets).

math-verify (with sympy) takes ~0.8 s to import, so it is imported on the first math answer only:
grading numbers and choices, and the TUI, never pay for it. Its timeouts use signal.alarm, which
works only in the main thread; elsewhere they are switched off (the inputs are single answers,
already cut out of the output, so a runaway parse is not expected).
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache


def math_equal(predicted: str, gold: str) -> bool:
    """Whether two LaTeX or plain math answers denote the same value (order: gold first)."""
    verifier = _math_verify()
    timeout = 5 if threading.current_thread() is threading.main_thread() else None
    gold_parsed = _parse(verifier, gold, timeout)
    predicted_parsed = _parse(verifier, predicted, timeout)
    if not gold_parsed or not predicted_parsed:
        return False
    return bool(verifier.verify(gold_parsed, predicted_parsed, timeout_seconds=timeout))


def _parse(verifier, answer: str, timeout: int | None):
    text = answer.strip()
    if not text.startswith(("$", "\\(", "\\[")):
        text = f"${text}$"  # an answer cut out of its line is bare LaTeX: put it in math mode
    return verifier.parse(text, parsing_timeout=timeout)


@lru_cache(maxsize=1)
def _math_verify():
    import math_verify

    # math-verify logs a warning per call when its timeouts are off (worker threads): say it once.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    return math_verify

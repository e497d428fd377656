"""Send the process's C-level stderr (file descriptor 2) to a log file for a while.

llama.cpp prints model-loading and backend chatter straight to fd 2, even with verbose=False, and
Python's `sys.stderr` redirection cannot catch it. Swapping fd 2 itself keeps the terminal (or a
TUI drawing on it) clean and puts that chatter in the run's log where it can be read later.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

_lock = threading.RLock()
_depth = 0


@contextlib.contextmanager
def stderr_to(log_path: str | Path | None) -> Iterator[None]:
    """Redirect fd 2 to `log_path` (appending; os.devnull when None) inside the block.

    Re-entrant: a nested block keeps the outer redirection, so only the outermost one swaps fds.
    """
    global _depth
    with _lock:
        _depth += 1
        outer = _depth == 1
        if outer:
            saved, target = _swap_in(log_path)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if outer:
                _swap_back(saved, target)


def _swap_in(log_path: str | Path | None) -> tuple[int, int]:
    _flush_python_stderr()
    path = os.devnull if log_path is None else str(log_path)
    if log_path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    saved = os.dup(2)
    os.dup2(target, 2)
    return saved, target


def _swap_back(saved: int, target: int) -> None:
    _flush_python_stderr()
    os.dup2(saved, 2)
    os.close(saved)
    os.close(target)


def _flush_python_stderr() -> None:
    with contextlib.suppress(Exception):
        sys.stderr.flush()

"""What a failed stage's stored error says: the cause with its context, never progress output.

The stage child records its exception as an `error` event (the cause, one message); the
supervisor stores that with the iteration, the stage and the log's path. Only a child that died
without a word (a signal, a native crash) falls back to the log's last lines, with progress-bar
redraws taken out. The full log always stays in the log file.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import store
from store.errors import UndoError

TAIL_LINES = 12
# tqdm-style bars ("Loading weights:  37%|███▋  | 10/27 [00:01<00:02, 7.5it/s]"), bare percents
PROGRESS_LINE = re.compile(r"\d+%\|.*\|\s*[\d.?]+[kMG]?/|^\s*[\w .-]*:\s*\d+%\s*$|\bit/s\]|s/it\]")


def describe(exc: BaseException) -> str:
    """One message for a stage's exception: ours as written, others with their type."""
    if isinstance(exc, UndoError):
        return str(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def record(db, run_id: int, stage: str, k: int, exc: BaseException) -> str:
    cause = describe(exc)
    store.add_event(db, run_id, "error", stage=stage, iteration=k, message=cause)
    return cause


def last_event_id(db, run_id: int) -> int:
    row = db.execute("SELECT max(id) FROM events WHERE run_id = ?", [run_id]).fetchone()
    return row[0] or 0


def stage_error(db, run_id: int, k: int, stage: str, code: int, after_id: int,
                log_path: Path) -> str:
    """The error to store for a stage that exited with `code`."""
    causes = [e.message for e in store.events_since(db, run_id, after_id, kinds=("error",))
              if e.stage == stage and e.message]
    head = f"iteration {k} stage {stage} failed"
    if causes:
        return f"{head}: {causes[-1]}\n(full log: {log_path})"
    how = f"killed by {signal.Signals(-code).name}" if code < 0 and -code in \
        signal.valid_signals() else f"exit code {code}"
    return f"{head} ({how}); last log lines ({log_path}):\n{clean_tail(log_path)}"


def clean_tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The log's last lines without progress-bar redraws (each line as last drawn)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "(no log)"
    kept = []
    for line in text.splitlines():
        line = line.rsplit("\r", 1)[-1].rstrip()
        if line and not PROGRESS_LINE.search(line):
            kept.append(line)
    return "\n".join(kept[-lines:]) or "(the log holds only progress output)"

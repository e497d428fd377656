"""What a failed stage's stored error says: the cause with its context, never progress output.

The stage child records its exception as an `error` event (the cause, one message); the
supervisor stores that with the iteration, the stage and the log's path. Only a child that died
without a word (a signal, a native crash) falls back to the log's last lines, with progress-bar
redraws taken out. The full log always stays in the log file.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass
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
                log_path: Path, log_start: int = 0) -> str:
    """The error to store for a stage that exited with `code`. Under a launcher, a rank other
    than 0 that failed first is named with its own last lines (rank 0's stored cause, if any,
    is then only the echo of a broken collective)."""
    causes = [e.message for e in store.events_since(db, run_id, after_id, kinds=("error",))
              if e.stage == stage and e.message]
    head = f"iteration {k} stage {stage} failed"
    failed = failed_rank(_read_from(log_path, log_start))
    if failed is not None and (failed.rank != 0 or not causes):
        return (f"{head}: {failed.describe()}; last log lines ({log_path}):\n"
                f"{rank_tail(_read_from(log_path, log_start), failed.local_rank)}")
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
    return _tail_of(text, lines)


def _tail_of(text: str, lines: int = TAIL_LINES) -> str:
    kept = []
    for line in text.splitlines():
        line = line.rsplit("\r", 1)[-1].rstrip()
        if line and not PROGRESS_LINE.search(line):
            kept.append(line)
    return "\n".join(kept[-lines:]) or "(the log holds only progress output)"


@dataclass
class RankFailure:
    """The first rank the launcher saw fail (its "Root Cause" report)."""
    rank: int
    local_rank: int
    exit_code: int
    pid: int | None

    def describe(self) -> str:
        pid = f" (pid {self.pid})" if self.pid is not None else ""
        if self.exit_code < 0 and -self.exit_code in signal.valid_signals():
            return f"rank {self.rank}{pid} was killed by {signal.Signals(-self.exit_code).name}"
        return f"rank {self.rank}{pid} exited with code {self.exit_code}"


_ROOT_CAUSE = re.compile(r"Root Cause \(first observed failure\):.*?rank\s*:\s*(\d+) \(local_rank:"
                         r"\s*(\d+)\).*?exitcode\s*:\s*(-?\d+)(?: \(pid: (\d+)\))?", re.S)
_RANK_LINE = re.compile(r"^\[default(\d+)\]:(.*)$")


def failed_rank(log_text: str) -> RankFailure | None:
    """The launcher's root cause in a stage's log (torchrun and accelerate launch print the
    same report), or None (one process, or the launcher saw no rank fail)."""
    found = _ROOT_CAUSE.findall(log_text)
    if not found:
        return None
    rank, local, code, pid = found[-1]
    return RankFailure(int(rank), int(local), int(code), int(pid) if pid else None)


def rank_tail(log_text: str, local_rank: int, lines: int = TAIL_LINES) -> str:
    """The last lines that rank wrote (the launcher prefixes them `[defaultN]:`), else the last
    lines of every rank."""
    mine, every = [], []
    for line in log_text.splitlines():
        match = _RANK_LINE.match(line)
        if match:
            every.append(match.group(2))
            if int(match.group(1)) == local_rank:
                mine.append(match.group(2))
    return _tail_of("\n".join(mine or every), lines)


def _read_from(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")
    except OSError:
        return ""

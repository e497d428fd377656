"""`undo-tui generate`: a headless teacher pass over an imported dataset split, with live progress.

    undo-tui generate --dataset gsm8k --split train --limit 20 --teacher teacher.toml

The teacher comes from a TOML file's [teacher] table, adjusted by the shortcut flags. Running the
same command again reuses the run (`--run-name`, default generate-<dataset>-<split>) and is served
from the teacher-call cache: "calls made: 0". Ctrl-C (or a stop request from the TUI) stops
cleanly; the next run resumes.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from store.errors import UndoError
from undo_tui.commands.terminal_line import TerminalLine

# Mirrors engine.generation.keep.KEEP_POLICIES and engine.config.BACKENDS (a test checks);
# importing the engine here would slow down every `undo-tui --help`.
KEEP_CHOICES = ("correct", "all", "retry", "hinted")
BACKEND_CHOICES = ("llamacpp", "openai")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "generate", help="run a teacher pass over an imported dataset (headless)",
        description="Generate and grade teacher rationales for one split of an imported dataset. "
                    "Finished calls are cached: re-running resumes and never pays twice.")
    p.add_argument("--dataset", required=True, help="name of an imported dataset")
    p.add_argument("--split", default="train", choices=("train", "val", "test"),
                   help="which split's questions the teacher explains (default: train)")
    p.add_argument("--limit", type=_positive, help="only the first N examples of the split")
    p.add_argument("--teacher", type=Path, metavar="CONFIG.toml",
                   help="TOML file with a [teacher] table (backend, model, base_url, ...)")
    p.add_argument("--teacher-backend", choices=BACKEND_CHOICES, help="overrides the config")
    p.add_argument("--model", help="GGUF path or 'smollm2' (llamacpp); model name (openai)")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--api-key-env", metavar="VAR",
                   help="NAME of the environment variable holding the API key")
    p.add_argument("--concurrency", type=_positive,
                   help="requests in flight (openai); sequences decoded together (llamacpp)")
    p.add_argument("--max-tokens", type=_positive, help="longest rationale, in tokens")
    p.add_argument("--keep", choices=KEEP_CHOICES, default="correct",
                   help="which outputs to keep (default: gold-correct ones)")
    p.add_argument("--retries", type=_non_negative,
                   help="extra samples for examples with nothing kept "
                        "(default 2 with --keep retry)")
    p.add_argument("--template", help="prompt template name (default: initial; hinted for "
                                      "--keep hinted)")
    p.add_argument("--prompts", type=Path, metavar="PATH",
                   help="your prompt template file, or a directory of <name>.vN.txt files")
    p.add_argument("--run-name", help="default: generate-<dataset>-<split>")
    return p


def run(args) -> int:
    import asyncio

    import store
    from engine.generation.standalone import GenerateSpec, run_generate

    config = teacher_config(args)
    spec = GenerateSpec(dataset=args.dataset, split=args.split, limit=args.limit, teacher=config,
                        keep=args.keep, retries=args.retries, template=args.template,
                        prompts=args.prompts, run_name=args.run_name)
    db = store.open_store(args.store)
    line = _PassLine(sys.stdout)
    stop = _StopOnSignal()
    try:
        with stop:
            outcome = asyncio.run(run_generate(
                db, spec, log_dir=Path(args.store).resolve().parent / "logs",
                should_stop=stop.requested, on_progress=line.update, on_ready=_announce))
    finally:
        line.finish()
        db.close()
    _summary(outcome)
    return 0


def teacher_config(args):
    """The [teacher] table of --teacher (if given) with the shortcut flags applied on top."""
    from engine.config import teacher_from_dict

    table: dict = {}
    if args.teacher is not None:
        table = _read_teacher_table(args.teacher)
    overrides = {"backend": args.teacher_backend, "model": args.model, "base_url": args.base_url,
                 "api_key_env": args.api_key_env, "concurrency": args.concurrency,
                 "max_tokens": args.max_tokens}
    table.update({k: v for k, v in overrides.items() if v is not None})
    source = str(args.teacher) if args.teacher is not None else "teacher settings"
    return teacher_from_dict(table, source=source)


def _read_teacher_table(path: Path) -> dict:
    from engine.config import read_toml

    table = read_toml(path).get("teacher")
    if not isinstance(table, dict):
        raise UndoError(f"{path}: no [teacher] table (put backend = ..., model = ... under "
                        f"a [teacher] heading)")
    return dict(table)


def _announce(run_id: int, name: str, reused: bool, log_path: Path) -> None:
    verb = "resuming" if reused else "new"
    print(f"run {name!r} (id {run_id}, {verb}); teacher log: {log_path}", flush=True)


def _summary(outcome) -> None:
    r = outcome.report
    share = f" ({100 * r.kept / r.attempted:.1f}%)" if r.attempted else ""
    print(f"kept {r.kept}/{r.attempted}{share} with template {r.template}; "
          f"failed rows: {r.failed}, truncated: {r.truncated}, rejected: {r.rejected}")
    if r.reasons:
        import store

        print(f"not kept: {store.describe_rejections(r.reasons)}")
    print(f"calls made: {r.calls_made}, served from cache: {r.cache_hits}; retried: {r.retried}, "
          f"failed: {r.failed}"
          + (f"; in flight at a kill and made again: {r.repeated}" if r.repeated else ""))
    cost = f", cost: {r.cost:.4f}" if r.cost else ""
    print(f"tokens (paid calls): {r.prompt_tokens} prompt + {r.completion_tokens} completion"
          f"{cost}; wall time: {r.wall_s:.1f} s")
    if r.stopped:
        print(f"stopped: {r.not_started} requests not started; run the same command to resume")


class _PassLine(TerminalLine):
    """The teacher pass's line: redrawn at most every 0.1 s on a terminal, every 5 s otherwise."""

    def __init__(self, stream, tty_interval_s: float = 0.1, plain_interval_s: float = 5.0):
        super().__init__(stream)
        self.interval = tty_interval_s if self.interactive else plain_interval_s
        self.last = float("-inf")
        self.shown = ""

    def update(self, snapshot) -> None:
        now = time.monotonic()
        if now - self.last >= self.interval or snapshot.done == snapshot.total:
            self.last = now
            text = format_progress(snapshot)
            if text != self.shown:
                self.shown = text
                self.show(text)


def format_progress(p, now: float | None = None) -> str:
    """'14:03:07 teacher 70/180 tries  kept 5/60  ...  elapsed 0:00:45  ETA 0:01:20': the total is
    the whole pass's from the start (with retries: each example's tries)."""
    from undo_tui.widgets.render import duration

    eta = "-" if p.eta_s is None else duration(p.eta_s, hours=True)
    stamp = time.strftime("%H:%M:%S", time.localtime(now))
    tries = f" tries ({p.examples} examples, up to {p.rounds} each)" if p.rounds > 1 else ""
    return (f"{stamp} teacher {p.done}/{p.total}{tries}  kept {p.kept}/{p.attempted}  "
            f"failed {p.failed}  cached {p.cache_hits}  {p.tokens_per_s:.1f} tok/s  "
            f"elapsed {duration(p.elapsed_s, hours=True)}  ETA {eta}")


class _StopOnSignal:
    """First Ctrl-C (or SIGTERM) asks the pass to stop cleanly; a second Ctrl-C interrupts."""

    def __init__(self):
        self.flag = False
        self.saved: dict = {}

    def requested(self) -> bool:
        return self.flag

    def _handle(self, signum, frame) -> None:
        if self.flag and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.flag = True
        print("\nstopping after the calls in flight (Ctrl-C again to abort)", file=sys.stdout,
              flush=True)

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.saved[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (tests driving main() from a thread)
                pass
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value

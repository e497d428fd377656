"""`python -m benchmarks [--quick] [NAME ...]`: run the benchmarks, one figure per line.

Each `benchmarks/bench_<name>.py` exposes `run(quick: bool) -> list[Figure]` and measures the product
and its baseline in the same run. `make bench-quick` is the few-minutes smoke mode CI runs.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(here)])
                  if m.name.startswith("bench_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes; a few minutes on 2 cores")
    parser.add_argument("names", nargs="*", help=f"subset to run (default all: {', '.join(available())})")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available())}")
    failed = []
    print("name  value unit  baseline  ratio", flush=True)
    for name in names:
        started = time.perf_counter()
        print(f"# {name}{' (quick)' if args.quick else ''}", flush=True)
        try:
            importlib.import_module(f"benchmarks.bench_{name}").run(quick=args.quick)
        except Exception:  # report and go on: one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
        print(f"# {name} took {time.perf_counter() - started:.1f}s", flush=True)
    if failed:
        print(f"# failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

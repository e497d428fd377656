"""`python -m engine.loop.follow_node RUN.toml --node-rank 1`: the ranks of a node other than 0.

A multi-node run's supervisor (on node 0, with the store) starts each train and evaluate stage
through the launcher; every stage is one rendezvous at `[training] rdzv_endpoint`. This joins
them one after another: it starts the launcher with this node's rank (the ranks take the stage
and its inputs from rank 0) and, when the stage ends or the rendezvous times out, starts it
again. Stop it with Ctrl-C once the run is over. Five quick failures in a row (a wrong
endpoint, a missing package) end it with the launcher's exit code.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

QUICK_S = 5.0
QUICK_FAILURES = 5


def main(argv: list[str] | None = None) -> int:
    from engine.config import load_config
    from engine.errors import ConfigError
    from engine.loop.launcher import follower_command

    parser = argparse.ArgumentParser(prog="python -m engine.loop.follow_node")
    parser.add_argument("config", help="the run's TOML file (its [training] launcher keys)")
    parser.add_argument("--node-rank", type=int, required=True, help="this node: 1 .. nodes-1")
    args = parser.parse_args(argv)
    try:
        training = load_config(args.config).training
    except ConfigError as exc:
        parser.exit(2, f"{exc}\n")
    if not 0 < args.node_rank < training.nodes:
        parser.exit(2, f"--node-rank must be 1 .. {training.nodes - 1} ([training] nodes = "
                       f"{training.nodes}; node 0 runs the supervisor)\n")
    command = follower_command(training, args.node_rank)
    failures = 0
    while failures < QUICK_FAILURES:
        started = time.monotonic()
        code = subprocess.call(command)
        quick = code != 0 and time.monotonic() - started < QUICK_S
        failures = failures + 1 if quick else 0
        print(f"node {args.node_rank}: ranks exited with code {code}; joining the next stage",
              flush=True)
    return code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)

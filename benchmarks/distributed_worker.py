"""Measured passes, run by bench_distributed (and bench_gpu) as one process or under torchrun:
`python -m benchmarks.distributed_worker SETTINGS.json OUT.json` (training, then evaluation, in
one process group: every launch costs each rank its imports).

train: the engine's train_student on the given pairs, steady-state useful tokens/s over the
whole group (the first step, with its warm-up, left out; tokens summed over ranks as the
progress events count them). evaluate: the engine's sharded greedy evaluation (one process:
the same code with one rank), generated tokens/s over the group, best of 3 passes (other work
on the machine only ever slows a pass down). Rank 0 writes OUT.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def train(settings: dict, workdir: Path) -> dict:
    from engine.config.training import TrainConfig
    from engine.student.training import train_student

    marks: list[tuple[float, int]] = []
    config = TrainConfig(**settings["config"])
    result = train_student(Path(settings["model"]), [tuple(p) for p in settings["pairs"]],
                           workdir / "student", config,
                           progress=lambda e: marks.append((time.perf_counter(), e["tokens"])))
    (t0, k0), (t1, k1) = marks[0], marks[-1]
    return {"tokens_per_s": (k1 - k0) / (t1 - t0), "steps": result.steps,
            "losses": result.losses}


def evaluate(settings: dict) -> dict:
    from engine.student.generation import load_student
    from engine.student.sharded_generation import generate_sharded

    model, tokenizer = load_student(Path(settings["model"]), dtype=settings["dtype"],
                                    device=settings.get("device"))
    tokens, texts = [0], {}

    def on_batch(_part, batch, outputs):
        tokens[0] += sum(o.new_tokens for o in outputs)
        texts.update({i: o.text for i, o in zip(batch, outputs)})

    prompts = settings["prompts"]
    generate_sharded(model, tokenizer, [(prompts[:2], set())], 4, 2)  # warm-up, not timed
    best = 0.0
    for _ in range(3):
        tokens[0] = 0
        started = time.perf_counter()
        generate_sharded(model, tokenizer, [(prompts, set())], settings["max_new_tokens"],
                         settings["batch_size"], on_batch)
        best = max(best, tokens[0] / (time.perf_counter() - started))
    return {"tokens_per_s": best, "texts": [texts[i] for i in sorted(texts)]}


def main() -> None:
    from engine.student import ranks

    settings_path, out = Path(sys.argv[1]), Path(sys.argv[2])
    if ranks.launched():
        ranks.init(600)
    settings = json.loads(settings_path.read_text())
    result = {"train": train(settings["train"], out.parent / out.stem),
              "evaluate": evaluate(settings["evaluate"])}
    if ranks.is_lead():
        out.write_text(json.dumps(result))
    ranks.finish()


if __name__ == "__main__":
    main()

"""N processes against one: training and evaluation throughput through the engine's launcher path.

Both sides run the engine's own code in child processes (benchmarks/distributed_worker.py): the
N-process side under torchrun with per-device batch b, the baseline as one process with batch
N x b, so both train on the same global batches (the loss curves must agree: the largest
relative difference is reported). Evaluation deals whole batches to the ranks; the baseline is
the same code with one rank, and the share of identical texts is reported (it must be 1).
On CPU every rank gets OMP_NUM_THREADS=1: on this 2-core machine, shared with other work, two
ranks can at best double one single-threaded process, and gloo's gradient exchange costs more
than a tiny model's step. bench_gpu runs the same comparison over the visible GPUs.
quick: tiny random Llama; full: SmolLM2-135M.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_training import GSM8K, ROOT, gsm8k_pairs, student_model
from benchmarks.report import Figure, emit


def worker(settings: dict, processes: int, workdir: Path) -> dict:
    """Run distributed_worker as one process or `processes` torchrun ranks; rank 0's result."""
    settings_path, out = workdir / f"settings-{processes}.json", workdir / f"out-{processes}.json"
    settings_path.write_text(json.dumps(settings))
    module = ["-m", "benchmarks.distributed_worker", str(settings_path), str(out)]
    launcher = [] if processes == 1 else ["-m", "torch.distributed.run", "--standalone",
                                          "--nproc_per_node", str(processes), "--max_restarts", "0"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if settings["evaluate"]["device"] == "cpu":
        env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run([sys.executable, *launcher, *module], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{processes} process(es) failed:\n{done.stderr[-3000:]}")
    return json.loads(out.read_text())


def compare(model: Path, processes: int, device: str, quick: bool, prefix: str,
            dtype: str = "bfloat16", batch: int | None = None) -> list[Figure]:
    """Training and evaluation figures of `processes` ranks against one process (per-device
    `batch`: 2 quick, 4 full unless given)."""
    n, default_batch, max_length = (16, 2, 256) if quick else (64, 4, 512)
    batch = batch or default_batch
    n = max(n, 4 * batch * processes)  # a few steps at least
    pairs = gsm8k_pairs("train", n)
    base = dict(epochs=1, max_length=max_length, warmup_ratio=0.0, dtype=dtype, device=device,
                save_interval_s=0)
    prompts = [q for q, _ in gsm8k_pairs("test", 8 if quick else 64)]
    max_new, eval_batch = (16, 4) if quick else (64, 8)
    evaluation = {"model": str(model), "prompts": prompts, "dtype": dtype, "device": device,
                  "max_new_tokens": max_new, "batch_size": eval_batch}
    with tempfile.TemporaryDirectory(prefix="bench-dist-") as tmp:
        results = {p: worker({"train": {"model": str(model), "pairs": pairs, "config": {
            **base, "batch_size": batch * (processes // p)}}, "evaluate": evaluation}, p,
            Path(tmp)) for p in (1, processes)}
    runs = {p: result["train"] for p, result in results.items()}
    evals = {p: result["evaluate"] for p, result in results.items()}
    one, many = runs[1], runs[processes]
    drift = max(abs(a - b) / abs(a) for a, b in zip(one["losses"], many["losses"]))
    same = sum(a == b for a, b in zip(evals[1]["texts"], evals[processes]["texts"]))
    where = f"{device}{', OMP_NUM_THREADS=1 per rank' if device == 'cpu' else ''}"
    train_note = (f"{'tiny Llama' if quick else 'SmolLM2-135M'} LoRA {dtype} on {where}, {n} "
                  f"GSM8K rationales, global batch {batch * processes} ({processes} x {batch} "
                  f"vs 1 x {batch * processes}), {one['steps']} steps")
    eval_note = (f"{len(prompts)} GSM8K questions, max_new_tokens {max_new}, batch {eval_batch}, "
                 f"{dtype}; whole batches dealt to the ranks")
    return [emit(Figure(f"{prefix}_train_tokens_per_s_{processes}proc_vs_1proc",
                        many["tokens_per_s"], "tok/s", one["tokens_per_s"], train_note)),
            emit(Figure(f"{prefix}_train_loss_max_rel_diff_{processes}proc_vs_1proc", drift,
                        "frac", note="same global batches: float rounding only")),
            emit(Figure(f"{prefix}_eval_tokens_per_s_{processes}proc_vs_1proc",
                        evals[processes]["tokens_per_s"], "tok/s", evals[1]["tokens_per_s"],
                        eval_note)),
            emit(Figure(f"{prefix}_eval_same_text_{processes}proc_vs_1proc", same / len(prompts),
                        "frac", note="greedy texts identical to one process's"))]


def run(quick: bool) -> list[Figure]:
    if not (GSM8K / "train.jsonl").is_file():
        print(f"# skipped: {GSM8K / 'train.jsonl'} not found")
        return []
    model = student_model(quick)
    if model is None:
        return []
    return compare(model, 2, "cpu", quick, "dist")


if __name__ == "__main__":
    run(quick="--quick" in sys.argv[1:])

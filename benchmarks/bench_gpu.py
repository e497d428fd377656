"""GPU figures: SmolLM2-135M training and evaluation on a CUDA GPU in bf16, against the GPU's peak.

Only when `torch.cuda.is_available()`; otherwise one `# gpu skipped: ...` line and no figures
(the benchmark suite and CI run on CPU machines). With a GPU:

- training: the engine's trainer (LoRA, length-grouped batches of 16) on GSM8K rationales,
  useful tokens/s against random batches on the same data, and model FLOP/s as a fraction of the
  device's dense bf16 peak, with FLOPs ~= 6 * params * tokens (forward + backward);
- evaluation: the engine's batched greedy generation, tokens/s against one question at a time,
  and 2 * params * tokens as a fraction of peak (decoding is memory-bound: expect a small one);
- with N > 1 GPUs visible: bench_distributed's comparison over all of them (torchrun, one rank
  per GPU, per-device batch 16) against one GPU at the same global batch, for training and
  sharded evaluation.

The peak table holds dense (not sparse) bf16 tensor-core figures from the vendors' data sheets;
an unknown device gets tokens/s only.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from benchmarks.report import Figure, emit

# Dense bf16 tensor-core peak, TFLOP/s (FP32 accumulate), by the name torch reports.
PEAK_BF16_TFLOPS = {
    "B200": 2250.0, "H200": 989.0, "H200 NVL": 835.0, "GH200": 989.0, "H100": 989.0,
    "H100 PCIE": 756.0, "H100 NVL": 835.0, "H800": 989.0, "A100": 312.0, "A800": 312.0,
    "L40S": 362.0, "L40": 181.0, "L4": 121.0, "A10G": 70.0, "A10": 125.0, "RTX A6000": 155.0,
    "RTX 4090": 165.0, "RTX 3090": 71.0,
}
TRAIN_FLOPS_PER_TOKEN = 6  # x params: forward 2, backward 4
GENERATION_FLOPS_PER_TOKEN = 2  # x params: forward only


def peak_bf16_flops(device_name: str) -> float | None:
    """FLOP/s of the best-matching table entry (whole words, longest key wins), else None.

    "NVIDIA A100-SXM4-80GB" is an A100, not an A10; "NVIDIA H100 PCIe" takes the PCIe figure.
    """
    name = device_name.upper()
    matches = [key for key in PEAK_BF16_TFLOPS
               if re.search(rf"(?<![A-Z0-9]){re.escape(key)}(?![A-Z0-9])", name)]
    if not matches:
        return None
    return PEAK_BF16_TFLOPS[max(matches, key=len)] * 1e12


def model_flops_per_s(params: int, tokens_per_s: float, flops_per_token_per_param: int) -> float:
    return flops_per_token_per_param * params * tokens_per_s


def fraction_of_peak(flops_per_s: float, peak: float | None) -> float | None:
    return None if not peak else flops_per_s / peak


def cuda_device() -> str | None:
    """The CUDA device's name, or None when torch sees no usable GPU."""
    import torch

    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name()


def peak_figures(prefix: str, device: str, params: int, tokens_per_s: float, per_token: int,
                 note: str) -> list[Figure]:
    """The fraction-of-peak figure, or a comment line when the device is not in the table."""
    peak = peak_bf16_flops(device)
    fraction = fraction_of_peak(model_flops_per_s(params, tokens_per_s, per_token), peak)
    if fraction is None:
        print(f"# {prefix}: no bf16 peak known for {device!r}; tokens/s only")
        return []
    return [emit(Figure(f"{prefix}_fraction_of_peak_bf16", fraction, "frac",
                        note=f"{device}: {per_token}*params*tok/s / {peak / 1e12:.0f} TFLOP/s; "
                             f"{note}"))]


def run(quick: bool) -> list[Figure]:
    device = cuda_device()
    if device is None:
        print("# gpu skipped: no CUDA device (torch.cuda.is_available() is False)")
        return []
    from benchmarks.bench_training import GSM8K

    if not (GSM8K / "train.jsonl").is_file():
        print(f"# gpu skipped: {GSM8K / 'train.jsonl'} not found")
        return []
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        from benchmarks.bench_training import student_model

        model = student_model(quick=False)  # SmolLM2-135M in both modes
        if model is None:
            return []
        params = parameter_count(model)
        return (training_figures(model, Path(tmp), device, params, quick)
                + eval_figures(model, device, params, quick) + multi_gpu_figures(model, quick))


def multi_gpu_figures(model: Path, quick: bool) -> list[Figure]:
    """Every visible GPU against one, through the engine's launcher path (bench_distributed)."""
    import torch

    from benchmarks.bench_distributed import compare

    count = torch.cuda.device_count()
    if count < 2:
        print(f"# gpu multi skipped: {count} GPU visible (the N-GPU figures need 2 or more)")
        return []
    return compare(model, count, "cuda", quick, f"gpu{count}", batch=16)


def parameter_count(model: Path) -> int:
    from engine.student.loading import load_model

    return load_model(model, dtype="bfloat16", device="cpu").num_parameters()


def training_figures(model: Path, workdir: Path, device: str, params: int,
                     quick: bool) -> list[Figure]:
    from engine.config.training import TrainConfig

    from benchmarks.bench_training import gsm8k_pairs, train_rate

    n, batch = (128, 16) if quick else (1024, 16)
    pairs = gsm8k_pairs("train", n)
    config = TrainConfig(epochs=1, batch_size=batch, max_length=512, warmup_ratio=0.0,
                         dtype="bfloat16", device="cuda")
    train_rate(model, pairs[:batch * 3], "length_grouped", workdir, config)  # CUDA warm-up
    rates = {mode: train_rate(model, pairs, mode, workdir, config)[0]
             for mode in ("length_grouped", "random")}
    note = f"SmolLM2-135M LoRA r=16 bf16 on {device}, {n} GSM8K rationales, batch {batch}"
    return [emit(Figure("gpu_train_tokens_per_s_length_grouped_vs_random", rates["length_grouped"],
                        "tok/s", rates["random"], note)),
            *peak_figures("gpu_train", device, params, rates["length_grouped"],
                          TRAIN_FLOPS_PER_TOKEN, "LoRA skips the frozen weights' gradients, so "
                                                 "about 2/3 of these FLOPs are really done")]


def eval_figures(model_path: Path, device: str, params: int, quick: bool) -> list[Figure]:
    from engine.student.generation import load_student

    from benchmarks.bench_eval import questions, timed_generation, warm_up

    n, max_new, batch, singles = (32, 64, 32, 4) if quick else (256, 256, 128, 8)
    prompts = questions(n)
    model, tokenizer = load_student(model_path, dtype="bfloat16", device="cuda")
    warm_up(model, tokenizer, prompts)
    _, batched = timed_generation(model, tokenizer, prompts, max_new, batch)
    _, single = timed_generation(model, tokenizer, prompts[:singles], max_new, 1)
    note = (f"SmolLM2-135M bf16 greedy on {device}, {n} GSM8K questions, max_new_tokens "
            f"{max_new}, batch {batch}; baseline: {singles} questions one at a time")
    return [emit(Figure("gpu_eval_tokens_per_s_batched_vs_one_at_a_time", batched, "tok/s",
                        single, note)),
            *peak_figures("gpu_eval", device, params, batched, GENERATION_FLOPS_PER_TOKEN,
                          "attention over the KV cache not counted; decoding is memory-bound")]


if __name__ == "__main__":
    run(quick="--quick" in sys.argv[1:])

"""The arithmetic behind the benchmark figures: GPU peak lookup and FLOP fractions, the GPU
benchmark's skip without CUDA, padding fractions and their speed-up bound, and the figure line
format round trip. No model, no GPU, milliseconds."""

from __future__ import annotations

import pytest

from benchmarks import bench_gpu
from benchmarks.bench_gpu import (GENERATION_FLOPS_PER_TOKEN, TRAIN_FLOPS_PER_TOKEN,
                                  fraction_of_peak, model_flops_per_s, peak_bf16_flops)
from benchmarks.padding import length_summary, padding_fraction, speedup_bound
from benchmarks.report import Figure, parse


@pytest.mark.parametrize("name, tflops", [
    ("NVIDIA H100 80GB HBM3", 989), ("NVIDIA H100 PCIe", 756), ("NVIDIA H100 NVL", 835),
    ("NVIDIA H200", 989), ("NVIDIA H200 NVL", 835), ("NVIDIA GH200 480GB", 989),
    ("NVIDIA A100-SXM4-80GB", 312), ("NVIDIA A100 80GB PCIe", 312), ("NVIDIA A10", 125),
    ("NVIDIA A10G", 70), ("NVIDIA L4", 121), ("NVIDIA L40S", 362), ("NVIDIA L40", 181),
    ("NVIDIA GeForce RTX 4090", 165), ("NVIDIA RTX A6000", 155),
])
def test_peak_lookup_takes_the_most_specific_whole_word_match(name, tflops):
    assert peak_bf16_flops(name) == tflops * 1e12


@pytest.mark.parametrize("name", ["Tesla V100-SXM2-32GB", "Tesla T4", "AMD Instinct MI300X",
                                  "NVIDIA GeForce RTX 40900", ""])
def test_unknown_devices_have_no_peak(name):
    assert peak_bf16_flops(name) is None


def test_flops_and_fraction_of_peak():
    params, tokens_per_s = 134_515_008, 50_000.0
    train = model_flops_per_s(params, tokens_per_s, TRAIN_FLOPS_PER_TOKEN)
    assert train == pytest.approx(6 * 134_515_008 * 50_000)
    assert fraction_of_peak(train, 989e12) == pytest.approx(0.0408, abs=1e-4)
    decode = model_flops_per_s(params, tokens_per_s, GENERATION_FLOPS_PER_TOKEN)
    assert decode == pytest.approx(train / 3)
    assert fraction_of_peak(train, None) is None


def test_peak_figures_for_a_known_and_an_unknown_device(capsys):
    (figure,) = bench_gpu.peak_figures("gpu_train", "NVIDIA L4", 100, 1e9, 6, "note")
    assert figure.name == "gpu_train_fraction_of_peak_bf16"
    assert figure.value == pytest.approx(6 * 100 * 1e9 / 121e12)
    assert bench_gpu.peak_figures("gpu_train", "Tesla T4", 100, 1e9, 6, "note") == []
    assert "no bf16 peak known for 'Tesla T4'; tokens/s only" in capsys.readouterr().out


def test_gpu_benchmark_skips_cleanly_without_cuda(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert bench_gpu.cuda_device() is None
    assert bench_gpu.run(quick=False) == []
    assert capsys.readouterr().out == ("# gpu skipped: no CUDA device "
                                       "(torch.cuda.is_available() is False)\n")


def test_gpu_detection_names_the_device(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "NVIDIA H200")
    assert bench_gpu.cuda_device() == "NVIDIA H200"


def test_padding_fractions_of_the_engine_batches():
    lengths = [10, 10, 20, 20, 30, 30, 40, 40]
    # grouped batches of 2 hold equal lengths: no padding; pad_max pads all to 100
    assert padding_fraction(lengths, "length_grouped", 2, 100) == 0
    assert padding_fraction(lengths, "packed", 2, 100) == 0
    assert padding_fraction(lengths, "pad_max", 2, 100) == pytest.approx(1 - 200 / 800)
    random_ = padding_fraction(lengths, "random", 8, 100)  # one batch of all: padded to 40
    assert random_ == pytest.approx(1 - 200 / 320)
    assert 0 <= padding_fraction(lengths, "random", 2, 100) <= random_


def test_speedup_bound():
    assert speedup_bound(0.0, 0.25) == pytest.approx(4 / 3)
    assert speedup_bound(0.04, 0.25) == pytest.approx(0.96 / 0.75)
    assert speedup_bound(0.1, 0.1) == 1


def test_length_summary_names_the_percentiles():
    text = length_summary(list(range(1, 101)))
    assert text.startswith("mean 50, p5 5, p50 50") and text.endswith("max 100")


def test_figure_lines_round_trip():
    figure = Figure("train_tokens_per_s_x", 277.123, "tok/s", 215.7, "note  with spaces")
    assert figure.line() == "train_tokens_per_s_x  277.1 tok/s  215.7  1.28x  # note  with spaces"
    back = parse(figure.line())
    assert (back.name, back.value, back.unit, back.baseline, back.note) == (
        "train_tokens_per_s_x", 277.1, "tok/s", 215.7, "note  with spaces")
    bare = parse(Figure("tui.store_file_size", 10.31, "MB").line())
    assert (bare.baseline, bare.ratio, bare.note) == (None, None, "")


@pytest.mark.parametrize("line", ["# teacher (quick)", "name  value unit  baseline  ratio",
                                  "teacher API pass, C=8  15 req/s  16  0.9x", "",
                                  "x  fast tok/s  1  1x"])
def test_non_figure_lines_do_not_parse(line):
    assert parse(line) is None

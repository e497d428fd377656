"""`python -m benchmarks --quick` as CI runs it: every benchmark prints its figure lines and they
parse as `name  value unit  baseline  ratio`. Speed is not asserted (that is benchmarks/RESULTS.md's
business); which figures appear is, including the clean skips without GSM8K, the model or a GPU.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from benchmarks.bench_training import GSM8K
from benchmarks.report import parse
from tests.fixtures.model_fixtures import smollm2_gguf_path
from tests.fixtures.teacher_fixtures import ROOT, subprocess_env

TEACHER_API = ["teacher_api_req_per_s_c8_500ms_vs_ideal", "teacher_api_req_per_s_c64_1000ms_vs_ideal",
               "teacher_api_req_per_s_c64_vs_one_at_a_time"]
TEACHER_LLAMA = ["teacher_llamacpp_tok_per_s_vs_bare",
                 "teacher_llamacpp_s_per_problem_prefix_kept_vs_reset",
                 "teacher_llamacpp_tok_per_s_batched8_vs_one_at_a_time",
                 "teacher_llamacpp_batched8_same_text_as_one_at_a_time",
                 "teacher_llamacpp_tok_per_s_batched8_vs_bare_one_at_a_time"]
RESUME = ["resume_calls_made_vs_missing", "resume_pass_wall_vs_remaining_share",
          "resume_process_wall_vs_remaining_share", "resume_total_requests_vs_examples"]
TUI = ["tui.store_build_rows_per_s", "tui.store_file_size", "tui.first_paint", "tui.errors_open",
       "tui.cursor_move", "tui.next_page", "tui.last_page", "tui.first_page",
       "tui.filter_status_fixed", "tui.count_fixed", "tui.pilot_press_filter", "tui.search_common",
       "tui.search_rare"]
TRAINING = ["train_tokens_per_s_length_grouped_vs_pad_max",
            "train_tokens_per_s_length_grouped_vs_random",
            "train_speedup_vs_random_measured_vs_padding_bound",
            "train_tokens_per_s_packed_vs_length_grouped", "train_tokens_per_s_trainer_vs_lean_loop",
            *(f"train_padding_fraction_{m}" for m in ("length_grouped", "packed", "random",
                                                      "pad_max")),
            "train_gsm8k_example_tokens_mean",
            *(f"train_gsm8k_padding_bound_vs_random_batch{b}" for b in (4, 8, 16, 32)),
            "train_tokens_per_s_length_grouped_vs_random_batch8"]
CHAOS = ["chaos_fault_rows_lost", "chaos_fault_empty_ok_rows",
         "chaos_fault_retried_vs_faulty_calls", "chaos_foreign_files_changed",
         "chaos_tracebacks_printed"]
EVAL = ["eval_tokens_per_s_batched_vs_one_at_a_time", "eval_speedup", "eval_identical_predictions",
        "eval_tokens_per_s_bf16_vs_float32_batched", "eval_bf16_same_text_as_float32"]

WHEELS = ["wheels_tok_per_s_assisted20_vs_student", "wheels_tok_per_s_assisted20_vs_teacher",
          "wheels_teacher_tokens_assisted20_vs_teacher",
          "wheels_teacher_calls_per_seq_assisted20_vs_teacher", "wheels_realised_share_assisted20",
          "wheels_teacher_tokens_recompute_vs_kept_cache"]
DISTRIBUTED = [f"dist_{what}_2proc_vs_1proc" for what in (
    "train_tokens_per_s", "train_loss_max_rel_diff", "eval_tokens_per_s", "eval_same_text")]
DISTILLING = ("kd", "on_policy", "pcl")
OBJECTIVES = ["objectives_tok_per_s_sft", "objectives_s_per_step_sft", "objectives_first_step_s_sft",
              *(f"objectives_{what}_{o}_vs_sft" for o in DISTILLING
                for what in ("tok_per_s", "s_per_step", "first_step_s")),
              *(f"objectives_teacher_share_{o}" for o in DISTILLING),
              *(f"objectives_{what}_{o}" for o in ("on_policy", "pcl")
                for what in ("sample_share", "sampled_tok_per_s"))]


def expected_figures() -> list[str]:
    names = TEACHER_API + RESUME + TUI
    if smollm2_gguf_path() is not None:
        names += CHAOS + WHEELS + OBJECTIVES  # built-in problems: no GSM8K needed
    if (GSM8K / "train.jsonl").is_file() and smollm2_gguf_path() is not None:
        names += TEACHER_LLAMA + TRAINING + EVAL + DISTRIBUTED
    return names


@pytest.fixture(scope="module")
def quick_run():
    """One quick run of every benchmark in a child process, as `make bench-quick` runs it."""
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick"], cwd=ROOT,
                          env=subprocess_env(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                                             TOKENIZERS_PARALLELISM="false"),
                          capture_output=True, text=True, timeout=540)
    return done


def test_quick_mode_exits_cleanly(quick_run):
    assert quick_run.returncode == 0, quick_run.stderr[-4000:]
    assert "# failed" not in quick_run.stderr


def test_every_expected_figure_is_printed_once_and_parses(quick_run):
    lines = [line for line in quick_run.stdout.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "name  value unit  baseline  ratio"
    unparsed = [line for line in lines[1:] if parse(line) is None]
    assert unparsed == [], f"lines that are neither comments nor figures: {unparsed}"
    figures = [parse(line) for line in lines[1:]]
    names = [f.name for f in figures]
    missing = [name for name in expected_figures() if name not in names]
    assert missing == [], f"missing figures: {missing}\n{quick_run.stdout[-3000:]}"
    assert len(names) == len(set(names)), "a figure printed twice"
    assert all(math.isfinite(f.value) for f in figures), figures


def test_correctness_figures_hold_even_in_quick_mode(quick_run):
    """Not speed: the resume pays exactly the missing calls; batched evaluation matches."""
    figures = {f.name: f for f in map(parse, quick_run.stdout.splitlines()) if f is not None}
    resume = figures["resume_calls_made_vs_missing"]
    assert resume.value == resume.baseline > 0
    if "eval_identical_predictions" in figures:
        assert figures["eval_identical_predictions"].value == 1.0
    if "teacher_llamacpp_batched8_same_text_as_one_at_a_time" in figures:
        assert figures["teacher_llamacpp_batched8_same_text_as_one_at_a_time"].value == 1.0
    if "dist_eval_same_text_2proc_vs_1proc" in figures:  # 2 ranks: the one-process answers
        assert figures["dist_eval_same_text_2proc_vs_1proc"].value == 1.0
        assert figures["dist_train_loss_max_rel_diff_2proc_vs_1proc"].value < 1e-3
    for name in CHAOS:  # nothing lost, changed or printed as a traceback; every fault retried
        if name in figures:
            chaos = figures[name]
            assert chaos.value == chaos.baseline, chaos


def test_every_benchmark_reports_its_time_and_gpu_skips_without_cuda(quick_run):
    import torch

    out = quick_run.stdout
    for name in ("teacher", "resume", "tui", "training", "eval", "gpu", "chaos", "objectives",
                 "distributed"):
        assert f"# {name} (quick)" in out and f"# {name} took " in out, name
    if not torch.cuda.is_available():
        assert "# gpu skipped: no CUDA device" in out
    if not (GSM8K / "train.jsonl").is_file():
        assert "# skipped:" in out and "teacher_llamacpp" not in out


@pytest.mark.skipif(smollm2_gguf_path() is None, reason="the tiny pair needs the SmolLM2 tokenizer")
def test_objectives_are_each_compared_with_sft_and_their_overheads_measured(quick_run):
    """Not speed: every objective trained, each distillation objective's rate and step time carry
    sft's as baseline, and the measured teacher and sampling shares are real fractions."""
    figures = {f.name: f for f in map(parse, quick_run.stdout.splitlines()) if f is not None}
    sft = figures["objectives_tok_per_s_sft"]
    assert sft.value > 0 and sft.baseline is None
    for objective in DISTILLING:
        rate = figures[f"objectives_tok_per_s_{objective}_vs_sft"]
        step = figures[f"objectives_s_per_step_{objective}_vs_sft"]
        assert rate.value > 0 and rate.baseline == sft.value and rate.ratio is not None
        assert step.baseline == figures["objectives_s_per_step_sft"].value
        assert 0 < figures[f"objectives_teacher_share_{objective}"].value < 1
    for objective in ("on_policy", "pcl"):  # sampled in one of the two measured steps
        assert 0 < figures[f"objectives_sample_share_{objective}"].value < 1
        assert figures[f"objectives_sampled_tok_per_s_{objective}"].value > 0
        assert "sampling in 1 of 2 steps" in figures[f"objectives_sample_share_{objective}"].note
    assert "teacher 0 s, sampling 0 s" in figures["objectives_s_per_step_sft"].note


def test_benchmarks_skip_cleanly_without_gsm8k(monkeypatch, capsys, tmp_path):
    """CI may have no ../shared/data: the GSM8K benchmarks print a skip line and no figures."""
    from benchmarks import bench_eval, bench_gpu, bench_teacher, bench_training

    missing = tmp_path / "no-gsm8k"
    for module in (bench_training, bench_eval):
        monkeypatch.setattr(module, "GSM8K", missing)
        assert module.run(quick=True) == []
    monkeypatch.setattr(bench_gpu, "cuda_device", lambda: "NVIDIA H100 80GB HBM3")
    assert bench_gpu.run(quick=True) == []  # a GPU, but no data: skipped before any model loads
    out = capsys.readouterr().out
    assert out.count("# skipped:") == 2 and out.count(str(missing)) == 3
    assert "# gpu skipped:" in out
    monkeypatch.setattr(bench_teacher, "GSM8K_TRAIN", missing / "train.jsonl")
    assert bench_teacher.llama_skip_reason() == f"{missing / 'train.jsonl'} not found"

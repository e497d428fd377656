"""The run's own tables: [run] [dataset] [student] [evaluation] [prompts] [loop].

Defaults follow the product brief; `sample_runs/configs/` has commented examples. [teacher] and
[training] are in teacher.py and training.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.config.base import Table
from engine.config.eval_server import EvalServerKeys


class RunSection(Table):
    name: str = Field("undo-run", description="the run's name: the TUI shows it, and every "
                                              "command takes it where it takes RUN")
    seed: int = Field(0, description="seed of sampling, error selection and (unless "
                                     "training.seed is set) training")
    kind: Literal["undo", "baseline", "transfer"] = Field(
        "undo", description="undo: the UNDO loop (baseline and transfer runs are made by "
                            "`undo-tui run --baseline-for` and `undo-tui transfer`)")


class DatasetSection(Table):
    name: str = Field(min_length=1, description="the name given to `undo-tui import`")
    train_split: str = Field("train", description="split the teacher explains and the student "
                                                  "trains on")
    val_split: str = Field("val", description="split that decides the best iteration")
    test_split: str = Field("", description="split evaluated for reference (empty: none)")
    train_limit: int = Field(0, ge=0, description="the first N training examples (0: all)")
    val_limit: int = Field(0, ge=0, description="the first N validation examples (0: all)")
    test_limit: int = Field(0, ge=0, description="the first N test examples (0: all)")


class StudentSection(Table):
    model: str = Field("smollm2", description="'smollm2' (the packaged GGUF), a .gguf file or a "
                                              "Hugging Face model directory")
    system_prompt: str = Field("", description="system message of the student's prompts "
                                               "(empty: none); training.system_prompt follows it")


class EvaluationSection(EvalServerKeys):  # backend and server keys: eval_server.py
    max_new_tokens: int = Field(384, ge=1, description="longest student answer, in tokens")
    batch_size: int = Field(16, ge=1, description="questions decoded together")
    evaluate_base: bool = Field(True, description="iteration 0: evaluate the untrained student, "
                                                  "for reference")
    evaluate_train: bool = Field(True, description="evaluate on train too: the refinement step "
                                                   "shows the teacher the student's train answers")
    # bf16 rounding depends on batch shape: "float32" when batched answers must match
    # one-at-a-time ones token for token.
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto: bfloat16 where supported (1.6x faster on CPU); float32 makes "
                            "answers independent of batch shape")


class PromptsSection(Table):
    dir: str = Field("", description="a directory of template files overriding the packaged "
                                     "ones (empty: the packaged templates)")
    initial: str = Field("initial", description="template of iteration 1's rationales")
    refine_variant: Literal["full", "answer_only", "hinted"] = Field(
        "answer_only", description="what a refinement prompt shows: the student's whole "
                                   "reasoning, only its wrong answer, or the gold answer as a hint")


class LoopSection(Table):
    max_iterations: int = Field(4, ge=1, description="iteration cap (iteration 1 is standard "
                                                     "distillation)")
    stop_rule: Literal["significant", "delta"] = Field(
        "significant", description="significant: a new iteration beats the best only with higher "
                                   "strict validation accuracy and exact McNemar p < alpha; delta: "
                                   "higher by `delta` points")
    alpha: float = Field(0.05, gt=0, lt=1, description="significance level of the "
                                                       "'significant' stop rule")
    delta: float = Field(0.5, ge=0, description="accuracy points (percent) a new iteration must "
                                                "beat the best by, under the 'delta' rule")
    regenerate: Literal["all", "wrong"] = Field(
        "all", description="which training questions go back to the teacher from iteration 2: "
                           "all, or those the student got wrong")
    keep: Literal["correct", "all", "retry", "hinted"] = Field(
        "correct", description="which rationales are kept: correct ones, all, correct after up to "
                               "`retries` more samples, or written with the gold answer as a hint")
    retries: int = Field(1, ge=0, description="extra samples for an example with nothing kept "
                                              "(keep = 'retry')")
    train_set: Literal["replace", "accumulate"] = Field(
        "replace", description="train on each example's newest kept rationale, or on every kept "
                               "version so far")
    init: Literal["base", "continue"] = Field(
        "base", description="each iteration trains from the base model, or continues the "
                            "previous checkpoint")
    val_errors_shown: int = Field(3, ge=0, description="student validation errors shown beside "
                                                       "each refinement question")
    val_error_selection: Literal["similar", "category", "random"] = Field(
        "similar", description="which errors: nearest by TF-IDF similarity, same category, or "
                               "random")
    # The keep filter (engine/generation/keep_filter.py), under keep = correct/retry/hinted.
    reject_no_derivation: bool = Field(
        True, description="reject a correct rationale with no working before its answer")
    reject_hint_before_derivation: bool = Field(
        True, description="hinted: reject one that states the given answer before working")
    reject_talks_about_student: bool = Field(
        True, description="reject one that talks about the student ('which is incorrect', ...)")
    reject_copies_student: bool = Field(
        True, description="reject one that repeats the student's output the prompt showed")
    reject_copies_previous: bool = Field(
        True, description="reject one that repeats its own previous version")

    def keep_rules(self) -> frozenset[str]:
        """The keep-filter rules switched on (codes of engine.generation.keep_filter.RULES)."""
        return frozenset(name.removeprefix("reject_") for name in type(self).model_fields
                         if name.startswith("reject_") and getattr(self, name))

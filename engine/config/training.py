"""[training]: how the student is fine-tuned. Importable without torch (the UI reads it)."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from engine.config.base import Table

Batching = Literal["length_grouped", "packed", "random", "pad_max"]
BATCHING_MODES = get_args(Batching)
DTypeName = Literal["auto", "float32", "fp32", "bfloat16", "bf16", "float16", "fp16"]


class TrainConfig(Table):
    lora: bool = Field(True, description="train a LoRA adapter (false: full fine-tuning)")
    lora_r: int = Field(16, ge=1, description="LoRA rank")
    lora_alpha: int = Field(32, description="LoRA scaling numerator (alpha / r scales the update)")
    lora_dropout: float = Field(0.05, ge=0, lt=1, description="dropout on the LoRA branch")
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"], min_length=1,
        description="modules that get an adapter")
    epochs: int = Field(3, ge=1, description="passes over the kept rationales per iteration")
    lr: float = Field(2e-4, gt=0, description="peak learning rate")
    batch_size: int = Field(4, ge=1, description="examples per step (per device)")
    grad_accum: int = Field(1, ge=1, description="steps accumulated per optimizer step")
    max_length: int = Field(512, ge=1, description="longest question + rationale in tokens (a "
                                                   "longer example is skipped)")
    grad_checkpointing: bool = Field(False, description="recompute activations to save memory")
    seed: int = Field(0, description="seed of initialisation and batch order (in a run "
                                     "config: run.seed unless set)")
    dtype: DTypeName = Field("auto", description="auto: bfloat16 where supported")
    warmup_ratio: float = Field(0.03, ge=0, lt=1, description="share of the steps spent warming "
                                                              "up the learning rate")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    batching: Batching = Field("length_grouped", description="how examples form batches: by "
                                                             "length, packed, random, or padded "
                                                             "to max_length")
    system_prompt: str | None = Field(None, description="system message of the training prompts "
                                                        "(in a run config: student.system_prompt "
                                                        "unless set)")
    device: str | None = Field(None, description="cpu, cuda, ... (unset: cuda when available, "
                                                 "else cpu)")
    # A kill -9 loses at most this much training; 10 min keeps the write cost (optimizer state
    # included) negligible even for full fine-tuning.
    save_steps: int = Field(0, ge=0, description="save a resumable checkpoint every N optimizer "
                                                 "steps (0: off)")
    save_interval_s: float = Field(600.0, ge=0, description="and at most this many seconds "
                                                            "apart (0: off)")

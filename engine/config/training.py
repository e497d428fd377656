"""[training]: how the student is fine-tuned. Importable without torch (the UI reads it)."""

from __future__ import annotations

import importlib.util
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from engine.config.base import Table

Batching = Literal["length_grouped", "packed", "random", "pad_max"]
BATCHING_MODES = get_args(Batching)
DTypeName = Literal["auto", "float32", "fp32", "bfloat16", "bf16", "float16", "fp16"]
Objective = Literal["sft", "kd", "on_policy", "pcl"]
Launcher = Literal["torchrun", "accelerate"]
Strategy = Literal["ddp", "fsdp", "deepspeed"]
# The knobs only a distillation objective reads: under sft they do not decide the weights.
DISTILL_FIELDS = ("teacher_model", "temperature", "beta", "on_policy_ratio", "off_policy",
                  "replay_size", "max_new_tokens", "tau", "pcl_window", "pcl_value", "ce_weight")
SAMPLING_OBJECTIVES = ("on_policy", "pcl")


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
    objective: Objective = Field(
        "sft", description="sft: cross-entropy on the rationales; kd: forward KL to the teacher's "
                           "tokens; on_policy: generalised JSD on student samples (GKD); pcl: "
                           "path consistency with reward log p_teacher")
    teacher_model: str | None = Field(
        None, validate_default=True,
        description="teacher of kd, on_policy and pcl: a Hugging Face model directory, a GGUF "
                    "file or a packaged name (smollm2); must share the student's tokenizer")
    temperature: float = Field(1.0, gt=0, le=100, description="kd and on_policy: softmax "
                                                             "temperature of both models (kd "
                                                             "scales its loss by T^2); "
                                                             "on_policy samples at it")
    beta: float = Field(0.5, ge=0, le=1, description="on_policy: 0 forward KL(teacher||student), "
                                                     "1 reverse KL, between: the JSD mixture")
    on_policy_ratio: float = Field(0.5, ge=0, le=1, description="on_policy and pcl: share of "
                                                                "batches the student writes from "
                                                                "their prompts (the rest use "
                                                                "the references)")
    off_policy: Literal["references", "teacher", "replay"] = Field(
        "references", description="the other batches: their reference tokens, continuations the "
                                  "teacher samples from their prompts, or the student's earlier "
                                  "samples (references until there are some)")
    replay_size: int = Field(16, ge=1, description="off_policy = 'replay': the newest sampled "
                                                   "batches kept for replay")
    max_new_tokens: int = Field(128, ge=1, le=4096, description="on_policy and pcl: longest "
                                                                "continuation a model samples")
    tau: float = Field(1.0, gt=0, le=100, description="pcl: entropy weight; the student's policy "
                                                      "is softmax(logits/tau) and samples at it")
    pcl_window: int = Field(1, ge=0, description="pcl: steps d in each consistency residual "
                                                 "(0: to the end of the sequence)")
    pcl_value: Literal["logsumexp", "head"] = Field(
        "logsumexp", description="pcl: V(s) = tau*logsumexp(logits/tau), or a linear value head "
                                 "on the last hidden state, starting at 0 (trained, not saved)")
    ce_weight: float = Field(0.0, ge=0, description="kd, on_policy, pcl: weight of a cross-entropy "
                                                    "anchor on the reference tokens (0: none)")

    processes: int = Field(1, ge=1, description="training and evaluation processes per node (one "
                                                "per GPU); more than 1 in all starts the train "
                                                "and evaluate stages through the launcher")
    nodes: int = Field(1, ge=1, description="machines taking part; the supervisor and the store "
                                            "are on node 0, the others join at rdzv_endpoint")
    launcher: Launcher = Field("torchrun", description="what starts the ranks: torchrun "
                                                       "(torch.distributed.run) or accelerate "
                                                       "launch")
    strategy: Strategy = Field("ddp", description="ddp: a full copy per rank; fsdp: full shard "
                                                  "(full fine-tuning only); deepspeed: ZeRO "
                                                  "(needs the deepspeed package)")
    zero_stage: int = Field(2, ge=1, le=3, description="strategy = 'deepspeed': the ZeRO stage")
    rdzv_endpoint: str | None = Field(None, description="host:port of node 0 where the ranks "
                                                        "meet (nodes > 1: required; one node: "
                                                        "a free local port is chosen)")
    dist_timeout_s: int = Field(600, ge=10, description="seconds a collective waits for a "
                                                        "silent peer before the stage fails")

    @property
    def world_size(self) -> int:
        return self.processes * self.nodes

    @property
    def cpu_ranks(self) -> bool:
        """device names the CPU: a launcher's ranks leave visible GPUs alone."""
        return (self.device or "").startswith("cpu")

    @field_validator("teacher_model")
    @classmethod
    def _teacher_for_distillation(cls, value: str | None, info: ValidationInfo) -> str | None:
        objective = info.data.get("objective", "sft")
        if objective != "sft" and not (value or "").strip():
            raise ValueError(f"required when objective = {objective!r} (the teacher whose "
                             "distribution the student learns: a model directory, a GGUF file "
                             "or smollm2)")
        return value

    @model_validator(mode="after")
    def _no_packed_samples(self):
        samples = ((self.objective in SAMPLING_OBJECTIVES and self.on_policy_ratio > 0)
                   or (self.objective != "sft" and self.off_policy == "teacher"))
        if (self.objective != "sft" and self.off_policy == "replay"
                and not (self.objective in SAMPLING_OBJECTIVES and 0 < self.on_policy_ratio < 1)):
            raise ValueError("off_policy = 'replay' replays the student's samples: it needs "
                             "objective on_policy or pcl with 0 < on_policy_ratio < 1")
        _check_distributed(self)
        if samples and self.batching == "packed":
            raise ValueError(f"batching = 'packed' cannot hold sampled continuations "
                             f"(objective = {self.objective!r}): use length_grouped, random or "
                             "pad_max, or on_policy_ratio = 0 and off_policy = 'references'")
        return self


def _check_distributed(config: TrainConfig) -> None:
    """The launcher settings that cannot work, refused with the way out."""
    if config.strategy == "fsdp" and config.lora:
        raise ValueError("strategy = 'fsdp' shards the full weights: it needs lora = false "
                         "(a LoRA adapter is small, so train it with strategy = 'ddp')")
    if config.strategy == "deepspeed" and importlib.util.find_spec("deepspeed") is None:
        raise ValueError("strategy = 'deepspeed' needs the deepspeed package, which is not "
                         "installed (pip install deepspeed), or use strategy = 'ddp' or 'fsdp'")
    if config.world_size > 1 and config.objective != "sft":
        raise ValueError(f"processes x nodes = {config.world_size}: distributed training runs "
                         f"objective = 'sft' only (objective = {config.objective!r} samples "
                         "per rank); use processes = 1")
    if config.nodes > 1 and not _is_endpoint(config.rdzv_endpoint):
        raise ValueError(f"nodes = {config.nodes} needs rdzv_endpoint = \"host:port\" (node 0's "
                         f"address every node reaches), got {config.rdzv_endpoint!r}")
    if config.rdzv_endpoint is not None and not _is_endpoint(config.rdzv_endpoint):
        raise ValueError(f"rdzv_endpoint must be \"host:port\", got {config.rdzv_endpoint!r}")


def _is_endpoint(value: str | None) -> bool:
    host, _, port = (value or "").rpartition(":")
    return bool(host) and port.isdigit() and 0 < int(port) < 65536


def in_one_process(config: TrainConfig) -> TrainConfig:
    """A distillation run or a sweep's distillation trains in the calling process: refuse
    `processes`/`nodes` there rather than ignore them (only the loop's stages take a launcher)."""
    if config.world_size > 1:
        raise ValueError(f"processes x nodes = {config.world_size}: a distillation run and a "
                         "sweep train in one process; only `undo-tui run`'s train and evaluate "
                         "stages start ranks (use processes = 1 here)")
    return config


# [training] of a distillation file or a sweep: trained in the calling process, so refused above one
OneProcessTraining = Annotated[TrainConfig, AfterValidator(in_one_process)]

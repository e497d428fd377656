"""Training settings and results: plain data, importable without torch (the UI reads them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

BATCHING_MODES = ("length_grouped", "packed", "random", "pad_max")
DTYPE_NAMES = ("auto", "float32", "fp32", "bfloat16", "bf16", "float16", "fp16")


@dataclass
class TrainConfig:
    lora: bool = True
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    epochs: int = 3
    lr: float = 2e-4
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 512
    grad_checkpointing: bool = False
    seed: int = 0
    dtype: str = "auto"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    batching: str = "length_grouped"
    system_prompt: str | None = None
    device: str | None = None  # None: cuda when available, else cpu
    # Resumable checkpoints (only when training is given a state_dir; a stop request always
    # saves one): every `save_steps` optimizer steps (0: off) and at most `save_interval_s`
    # seconds apart (0: off). A kill -9 then loses at most that much training; 10 min by default
    # keeps the write cost (optimizer state included) negligible even for full fine-tuning.
    save_steps: int = 0
    save_interval_s: float = 600.0

    def __post_init__(self):
        self.target_modules = tuple(self.target_modules)
        positive = ("lora_r", "epochs", "batch_size", "grad_accum", "max_length")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name}: must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr: must be > 0, got {self.lr}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"TrainConfig.warmup_ratio: must be in [0, 1), got {self.warmup_ratio}")
        if self.save_steps < 0 or self.save_interval_s < 0:
            raise ValueError("TrainConfig.save_steps and TrainConfig.save_interval_s: must be >= 0 "
                             f"(0: off), got {self.save_steps} and {self.save_interval_s}")
        if self.batching not in BATCHING_MODES:
            raise ValueError(f"TrainConfig.batching: {self.batching!r} is not one of {BATCHING_MODES}")
        if self.dtype not in DTYPE_NAMES:
            raise ValueError(f"TrainConfig.dtype: {self.dtype!r} is not one of {DTYPE_NAMES}")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["target_modules"] = list(self.target_modules)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"TrainConfig: unknown field(s) {', '.join(unknown)}")
        return cls(**data)


@dataclass
class TrainResult:
    steps: int
    final_loss: float
    mean_loss: float
    tokens: int  # non-padding tokens seen, all epochs
    seconds: float
    checkpoint: Path
    stopped: bool
    examples: int = 0
    skipped: int = 0  # examples whose completion did not fit in max_length
    losses: list[float] = field(default_factory=list)  # one per optimizer step
    resumed_from_step: int = 0  # > 0: continued from a saved training state at this step
    resumed_tokens: int = 0  # tokens trained before that resume (not in this process's seconds)



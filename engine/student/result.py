"""What a training returns: plain data, importable without torch. (Its settings are
engine.config.training.TrainConfig.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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

"""What Trainer needs to run under a launcher (engine/student/ranks.py): its DDP, FSDP or
DeepSpeed arguments and the gathering of the final weights. One process: nothing changes."""

from __future__ import annotations

from engine.config.training import TrainConfig
from engine.student import ranks


def distributed_args(config: TrainConfig, device: str) -> dict:
    """Under a launcher: the backend, the collective timeout and the strategy. Every trainable
    weight gets a gradient each step (LoRA or full), so DDP need not search for unused ones."""
    if ranks.world_size() == 1:
        return {}
    args = {"ddp_backend": "gloo" if device == "cpu" else "nccl",
            "ddp_timeout": config.dist_timeout_s, "ddp_find_unused_parameters": False}
    if config.strategy == "fsdp":
        # FSDP2, each decoder layer its own unit (the model's _no_split_modules), weights
        # resharded after the forward: full shard; checkpoints hold the full state dict
        args["fsdp"] = True
        args["fsdp_config"] = {"reshard_after_forward": True}
    elif config.strategy == "deepspeed":
        args["deepspeed"] = {"zero_optimization": {"stage": config.zero_stage},
                             "train_micro_batch_size_per_gpu": "auto",
                             "gradient_accumulation_steps": "auto", "train_batch_size": "auto",
                             "bf16": {"enabled": "auto"}}
    return args


def final_weights(trainer, config: TrainConfig):
    """(model, state dict or None) to save: under fsdp and deepspeed every rank takes part in
    gathering the full weights (rank 0 gets them); under ddp each rank holds them whole."""
    if ranks.world_size() == 1 or config.strategy == "ddp":
        return trainer.model, None
    weights = trainer.accelerator.get_state_dict(trainer.model)
    return trainer.accelerator.unwrap_model(trainer.model), weights

"""Make a weaker student from a model by keeping K evenly spaced decoder layers (DistilBERT's
initialisation), so a same-tokenizer pair exists with nothing downloaded.

Dropping layers is not enough on its own: each attention module keeps the `layer_idx` it was
built with, and the KV cache is indexed by it, so a kept layer 29 would write slot 29 of a cache
that now has K slots. Every kept layer is renumbered 0..K-1 and the config's layer count (and its
per-layer `layer_types`, where the architecture has one) follows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from store.errors import UndoError

SHRINK_INFO = "undo_tui_shrink.json"


class ShrinkError(UndoError):
    """Bad shrink request: the message names the option at fault."""


@dataclass(frozen=True)
class ShrinkResult:
    out_dir: Path
    kept: list[int]  # indices of the source layers kept, in order
    layers_before: int
    parameters: int


def evenly_spaced(total: int, keep: int) -> list[int]:
    """`keep` layer indices spread over 0..total-1, first and last included."""
    if not 1 <= keep <= total:
        raise ShrinkError(f"--keep-layers must be between 1 and {total} (the model's layers), "
                          f"got {keep}")
    if keep == 1:
        return [0]
    return [round(i * (total - 1) / (keep - 1)) for i in range(keep)]


def shrink_model(source: Path, keep: int, out_dir: Path, overwrite: bool = False) -> ShrinkResult:
    """Save a copy of `source` (a HF directory or GGUF) with `keep` of its layers to `out_dir`."""
    import torch
    from transformers import AutoTokenizer

    from engine.student.atomic import atomic_dir
    from engine.student.loading import load_model, model_identity, resolve_model_dir

    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise ShrinkError(f"--out {out_dir}: already exists and is not empty (pass --force to "
                          "replace it)")
    directory = resolve_model_dir(Path(source))
    model = load_model(directory, dtype=torch.float32, device="cpu")
    tokenizer = AutoTokenizer.from_pretrained(directory)
    total = model.config.num_hidden_layers
    kept = evenly_spaced(total, keep)
    keep_layers(model, kept)
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        info = {"source": str(source), "source_identity": model_identity(directory),
                "kept_layers": kept, "layers_before": total}
        (tmp / SHRINK_INFO).write_text(json.dumps(info, indent=1), encoding="utf-8")
    parameters = sum(p.numel() for p in model.parameters())
    return ShrinkResult(out_dir, kept, total, parameters)


def keep_layers(model, kept: list[int]) -> None:
    """Keep only the decoder layers `kept` (in place) and renumber them for the KV cache."""
    import torch

    decoder = model.get_decoder()
    layers = decoder.layers
    decoder.layers = torch.nn.ModuleList(layers[i] for i in kept)
    for new_index, layer in enumerate(decoder.layers):
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = new_index
    config = model.config
    layer_types = getattr(config, "layer_types", None)
    if isinstance(layer_types, list) and len(layer_types) == config.num_hidden_layers:
        config.layer_types = [layer_types[i] for i in kept]
    config.num_hidden_layers = len(kept)

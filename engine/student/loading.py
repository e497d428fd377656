"""Load a student model from a Hugging Face directory or a GGUF file.

transformers dequantises a GGUF on every load (~15 s for 135M) and refuses to `save_pretrained`
the result; we convert once (clearing the quantizer, see shared/ENVIRONMENT.md) into a cache
directory keyed by the GGUF's content hash, after which loads take a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from engine.files import remembered_sha256
from engine.student.atomic import atomic_dir

WEIGHT_SUFFIXES = (".safetensors", ".bin")
SOURCE_FILE = "undo_tui_source.json"


class ModelLoadError(ValueError):
    """A model path that is neither a model directory nor a GGUF file, or fails to convert."""


def cache_root() -> Path:
    """$UNDO_TUI_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/undo-tui (same rule as scripts/setup.sh)."""
    env = os.environ.get("UNDO_TUI_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(xdg).expanduser() / "undo-tui"


def models_cache_dir() -> Path:
    return cache_root() / "models"


def is_gguf(path: Path) -> bool:
    path = Path(path)
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        return handle.read(4) == b"GGUF"


def file_sha256(path: Path, cache_dir: Path | None = None) -> str:
    """sha256 of a file's bytes; remembered by path+size+mtime so large files hash once."""
    return remembered_sha256(path, (cache_dir or models_cache_dir()) / "hashes.json")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def model_identity(path: Path, cache_dir: Path | None = None) -> str:
    """A stable id for a model: the GGUF's content hash, or a hash of a directory's config and weights.

    Two copies of the same model in different places get the same id; a fine-tune of it does not.
    """
    path = Path(path)
    if is_gguf(path):
        return "gguf-sha256:" + file_sha256(path, cache_dir)
    directory = _require_model_dir(path)
    source = _read_json(directory / SOURCE_FILE)
    if source.get("identity"):
        return source["identity"]
    digest = hashlib.sha256((directory / "config.json").read_bytes())
    for weights in sorted(p for p in directory.iterdir() if p.suffix in WEIGHT_SUFFIXES):
        digest.update(f"{weights.name}:{file_sha256(weights, cache_dir)}".encode())
    return "dir-sha256:" + digest.hexdigest()


def _require_model_dir(path: Path) -> Path:
    if not path.exists():
        raise ModelLoadError(f"model not found: {path}")
    if not path.is_dir():
        raise ModelLoadError(f"{path}: not a GGUF file (no GGUF magic) and not a model directory")
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"{path}: not a Hugging Face model directory (no config.json)")
    return path


def resolve_model_dir(path: Path, cache_dir: Path | None = None) -> Path:
    """A Hugging Face directory for `path`: itself, or the cached conversion of a GGUF file."""
    path = Path(path).expanduser()
    if not is_gguf(path):
        return _require_model_dir(path)
    cache_dir = Path(cache_dir) if cache_dir else models_cache_dir()
    identity = model_identity(path, cache_dir)
    target = cache_dir / ("gguf-" + identity.split(":", 1)[1][:24])
    if not (target / SOURCE_FILE).is_file():
        convert_gguf(path, target, identity)
    return target


def convert_gguf(gguf: Path, target: Path, identity: str) -> None:
    """Dequantise a GGUF once into a fp32 HF directory (lossless; callers pick the compute dtype)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(gguf).resolve()
    try:
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except Exception as exc:  # transformers raises many types for unsupported architectures
        raise ModelLoadError(f"{gguf}: cannot load as a transformers model: {exc}") from exc
    # The GGUF quantizer marks the model as not serialisable; the weights are already dense.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with atomic_dir(target, replace=False) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        source = {"identity": identity, "gguf": str(gguf)}
        (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=1), encoding="utf-8")


def resolve_dtype(name: str | torch.dtype = "auto", device: str | None = None) -> torch.dtype:
    """"auto" is bf16 on CPU (measured 2.2 vs 4.2 s/step for fp32) and on bf16-capable CUDA, else fp32."""
    if isinstance(name, torch.dtype):
        return name
    named = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
             "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
    if name in named:
        return named[name]
    if name != "auto":
        raise ValueError(f"dtype: unknown value {name!r} (use auto, float32, bfloat16 or float16)")
    device = device or default_device()
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    return torch.bfloat16 if device == "cpu" else torch.float32


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_tokenizer(path: Path, cache_dir: Path | None = None):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model_dir(path, cache_dir))


def load_model(path: Path, dtype: str | torch.dtype = "auto", device: str | None = None,
               cache_dir: Path | None = None, attn_implementation: str | None = None):
    """The causal LM at `path` (dir or GGUF) on `device`, in the resolved dtype."""
    from transformers import AutoModelForCausalLM

    device = device or default_device()
    directory = resolve_model_dir(path, cache_dir)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=resolve_dtype(dtype, device),
                                                 attn_implementation=attn_implementation)
    return model.to(device)

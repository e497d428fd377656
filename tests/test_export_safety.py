"""Nothing is overwritten without force, and a failed or killed export leaves nothing that looks
complete: no data under the final name, no new manifest, no store record; a replaced export
survives a failed --force intact."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import store
from engine.export import ExportExists, FORMAT_NAMES, export_run, load_export
from engine.export import publish as publish_module
from engine.export import storage
from engine.export.errors import BadExportFile
from tests.test_export_fixtures import world  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
SUFFIX = {"hf": "", "parquet": ".parquet", "llamafactory-alpaca": ".json",
          "llamafactory-sharegpt": ".json", "trl-messages": ".jsonl",
          "trl-prompt-completion": ".jsonl"}


def out_for(tmp_path, fmt) -> Path:
    return tmp_path / "out" / f"data{SUFFIX[fmt]}"


def snapshot(root: Path) -> dict[str, bytes]:
    """Every visible file under root (hidden staging directories left out)."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)}


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_existing_output_is_refused_without_force_and_replaced_with_it(world, tmp_path, fmt):
    out = out_for(tmp_path, fmt)
    first = export_run(world.db, world.run_id, fmt=fmt, out=out)
    before = snapshot(out.parent)
    with pytest.raises(ExportExists, match=f"{out}.*--force"):
        export_run(world.db, world.run_id, fmt=fmt, out=out, iteration=1)
    assert snapshot(out.parent) == before
    second = export_run(world.db, world.run_id, fmt=fmt, out=out, iteration=1, force=True)
    assert second.manifest["iteration"] == 1 and read_iteration(out) == 1
    assert {r["iteration"] for r in load_export(out)} == {1}
    assert [e.id for e in store.list_exports(world.db, world.run_id)] == [second.export_id,
                                                                          first.export_id]
    assert not [p for p in out.parent.iterdir() if ".export-tmp-" in p.name]


def read_iteration(out: Path) -> int:
    from engine.export import read_manifest

    return read_manifest(out)["iteration"]


def test_a_lone_manifest_or_a_dataset_info_entry_also_needs_force(world, tmp_path):
    out = out_for(tmp_path, "trl-messages")
    out.parent.mkdir(parents=True)
    Path(f"{out}.manifest.json").write_text("{}")
    with pytest.raises(ExportExists, match="manifest.json already exists"):
        export_run(world.db, world.run_id, fmt="trl-messages", out=out)
    info = out.parent / "dataset_info.json"
    info.write_text(json.dumps({"data": {"file_name": "elsewhere.json"}}))
    with pytest.raises(ExportExists, match="dataset named 'data'"):
        export_run(world.db, world.run_id, fmt="llamafactory-alpaca", out=out.with_suffix(".json"))
    export_run(world.db, world.run_id, fmt="llamafactory-alpaca", out=out.with_suffix(".json"),
               force=True)
    assert json.loads(info.read_text())["data"]["file_name"] == "data.json"


def test_force_never_replaces_a_directory_that_is_not_an_export(world, tmp_path):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(ExportExists, match="not an undo-tui export directory"):
        export_run(world.db, world.run_id, fmt="hf", out=precious, force=True)
    with pytest.raises(ExportExists, match="is a directory"):
        export_run(world.db, world.run_id, fmt="trl-messages", out=precious, force=True)
    assert (precious / "thesis.tex").read_text() == "years of work"


def failing_midway(monkeypatch, after_lines=2):
    """JSONL rows stop after `after_lines` with a full disk; other storages write part of the file
    (or directory) and then fail the same way."""
    real_line, real_write = storage.encode_line, storage.write_rows
    calls = {"n": 0}

    def line(row):
        calls["n"] += 1
        if calls["n"] > after_lines:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_line(row)

    def write_rows(kind, records, to_row, path):
        if kind == "jsonl":
            return real_write(kind, records, to_row, path)
        real_write(kind, records, to_row, path)
        target = path / "extra.bin" if path.is_dir() else path
        with open(target, "ab") as handle:
            handle.write(b"\0" * 10)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "encode_line", line)
    monkeypatch.setattr("engine.export.writer.write_rows", write_rows)


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_a_failure_midway_leaves_no_output_and_no_record(world, tmp_path, monkeypatch, fmt):
    out = out_for(tmp_path, fmt)
    failing_midway(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        export_run(world.db, world.run_id, fmt=fmt, out=out)
    assert not out.exists() and not Path(f"{out}.manifest.json").exists()
    assert list(out.parent.iterdir()) == []  # staging removed, no dataset_info.json either
    assert store.list_exports(world.db) == []


@pytest.mark.parametrize("fmt", ["trl-messages", "hf", "llamafactory-sharegpt"])
def test_a_failed_force_export_keeps_the_previous_one_intact(world, tmp_path, monkeypatch, fmt):
    out = out_for(tmp_path, fmt)
    export_run(world.db, world.run_id, fmt=fmt, out=out)
    before = snapshot(out.parent)
    failing_midway(monkeypatch)
    with pytest.raises(OSError):
        export_run(world.db, world.run_id, fmt=fmt, out=out, iteration=1, force=True)
    assert snapshot(out.parent) == before
    assert len(load_export(out)) == 6 and len(store.list_exports(world.db)) == 1


def test_a_failure_while_writing_the_manifest_leaves_no_data(world, tmp_path, monkeypatch):
    out = out_for(tmp_path, "parquet")

    def broken(path, value):
        raise RuntimeError("manifest writer broke")

    monkeypatch.setattr("engine.export.writer._write_json", broken)
    with pytest.raises(RuntimeError):
        export_run(world.db, world.run_id, fmt="parquet", out=out)
    assert list(out.parent.iterdir()) == []


def test_a_manifest_beside_other_data_is_detected(world, tmp_path):
    out = out_for(tmp_path, "trl-messages")
    export_run(world.db, world.run_id, fmt="trl-messages", out=out)
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:3]) + "\n")  # as if an older or edited file sat there
    with pytest.raises(BadExportFile, match="does not match its manifest"):
        load_export(out)
    assert len(load_export(out, verify=False)) == 3


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import store
    from engine.export import export_run, storage
    real = storage.encode_line
    seen = []
    def dying(row):
        seen.append(row)
        if len(seen) == 3:
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return real(row)
    storage.encode_line = dying
    db = store.open_store(sys.argv[1])
    export_run(db, int(sys.argv[2]), fmt="trl-messages", out=sys.argv[3], force=True)
""")


def test_a_killed_export_leaves_only_a_hidden_staging_dir_that_a_later_export_sweeps(
        world, tmp_path, store_path):
    out = out_for(tmp_path, "trl-messages")
    export_run(world.db, world.run_id, fmt="trl-messages", out=out)
    before = snapshot(out.parent)
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(store_path), str(world.run_id),
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert snapshot(out.parent) == before  # the old export untouched, nothing new visible
    staging = [p for p in out.parent.iterdir() if ".export-tmp-" in p.name]
    assert len(staging) == 1 and staging[0].name.startswith(".")
    assert len(store.list_exports(world.db)) == 1
    old = time.time() - 2 * publish_module.STALE_AFTER_S
    os.utime(staging[0], (old, old))
    export_run(world.db, world.run_id, fmt="trl-messages", out=out, force=True)
    assert not [p for p in out.parent.iterdir() if ".export-tmp-" in p.name]


def test_a_recent_staging_dir_of_another_export_is_left_alone(tmp_path):
    final = tmp_path / "x.jsonl"
    busy = tmp_path / ".x.jsonl.export-tmp-abc"
    busy.mkdir()
    publish_module.remove_stale_staging(final)
    assert busy.exists()


def test_the_export_is_recorded_in_the_store(world, tmp_path):
    result = export_run(world.db, world.run_id, fmt="llamafactory-alpaca",
                        out=tmp_path / "out" / "lf.json")
    record = store.list_exports(world.db, world.run_id)[0]
    assert (record.id, record.format, record.iteration, record.rows) == (
        result.export_id, "llamafactory-alpaca", 2, 6)
    assert record.path == str(result.path) and Path(record.path).is_absolute()
    assert record.manifest == json.loads(result.manifest_path.read_text())
    assert record.manifest["llamafactory"]["dataset_name"] == "lf"

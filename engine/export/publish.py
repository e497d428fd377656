"""Put an export in place so that it is either complete under its final name or not there at all.

Everything is written into a hidden staging directory next to the output (same filesystem, so a
rename is atomic), flushed to disk, then renamed into place: the manifest first, the
dataset_info.json second, the data last. A kill, a full disk or an exception before the last rename
leaves no data under the final name (the staging directory is removed, or swept by a later export);
the manifest records the data's sha256, so a manifest left beside other data is detected on read.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.export.errors import ExportError, ExportExists
from engine.export.formats import Format
from engine.export.manifest import MARKER, manifest_path

STAGING_TAG = ".export-tmp-"
STALE_AFTER_S = 3600.0
DATASET_INFO = "dataset_info.json"


@dataclass(frozen=True)
class Targets:
    data: Path
    manifest: Path
    is_directory: bool
    dataset_info: Path | None = None  # LLaMA-Factory formats only
    entry_name: str | None = None


def targets_for(out: Path, fmt: Format) -> Targets:
    out = Path(out).expanduser().absolute()
    info = out.parent / DATASET_INFO if fmt.dataset_info_entry else None
    entry = out.stem if info else None
    return Targets(out, manifest_path(out, fmt.is_directory), fmt.is_directory, info, entry)


def check_free(targets: Targets, force: bool) -> None:
    """Refuse to overwrite anything without force, and never replace a foreign directory."""
    data = targets.data
    if data.exists() or data.is_symlink():
        if not force:
            raise ExportExists(f"{data} already exists; pass --force to replace it")
        _check_replaceable(targets)
    elif not targets.is_directory and targets.manifest.exists() and not force:
        raise ExportExists(f"{targets.manifest} already exists; pass --force to replace it")
    if targets.dataset_info and targets.entry_name in read_dataset_info(targets.dataset_info) \
            and not force:
        raise ExportExists(f"{targets.dataset_info} already describes a dataset named "
                           f"{targets.entry_name!r}; pass --force to replace the entry, or "
                           "choose another --out name")


def _check_replaceable(targets: Targets) -> None:
    data = targets.data
    if targets.is_directory:
        if not data.is_dir() or not _is_export_dir(data):
            raise ExportExists(f"{data} exists and is not an undo-tui export directory; refusing "
                               "to replace it, even with --force")
    elif data.is_dir():
        raise ExportExists(f"{data} is a directory; this format writes a file there")


def _is_export_dir(path: Path) -> bool:
    try:
        return MARKER in json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def read_dataset_info(path: Path) -> dict:
    """An existing dataset_info.json (other datasets in it are kept), or {} when there is none."""
    if not path.exists():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}: not valid JSON ({exc}); fix or move it first") from None
    if not isinstance(info, dict):
        raise ExportError(f"{path}: expected a JSON object of dataset descriptions")
    return info


def merged_dataset_info(targets: Targets, entry: dict) -> str:
    info = read_dataset_info(targets.dataset_info)
    info[targets.entry_name] = entry
    return json.dumps(info, indent=2, ensure_ascii=False) + "\n"


@contextlib.contextmanager
def staging_dir(final: Path) -> Iterator[Path]:
    """A hidden directory beside `final`, removed on exit whatever happens."""
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(final)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}{STAGING_TAG}", dir=final.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove_stale_staging(final: Path, older_than_s: float = STALE_AFTER_S) -> None:
    """Sweep staging directories a killed export of the same name left behind (old ones only,
    so an export still running in another process is spared)."""
    now = time.time()
    for stale in final.parent.glob(f".{final.name}{STAGING_TAG}*"):
        with contextlib.suppress(OSError):
            if now - stale.stat().st_mtime > older_than_s:
                shutil.rmtree(stale, ignore_errors=True)


def publish(targets: Targets, staging: Path, data: Path, manifest: Path | None,
            dataset_info: Path | None, force: bool) -> None:
    """Rename the staged files into place: manifest, dataset_info.json, then the data."""
    fsync_tree(staging)
    check_free(targets, force)
    if manifest is not None:
        os.replace(manifest, targets.manifest)
    if dataset_info is not None:
        os.replace(dataset_info, targets.dataset_info)
    final = targets.data
    if final.is_dir() and not final.is_symlink():
        os.rename(final, staging / "replaced")  # swept with the staging directory
    os.replace(data, final)
    fsync_dir(final.parent)


def fsync_tree(root: Path) -> None:
    """Flush every staged file, so a crash after the rename cannot expose an empty file."""
    for path in [root, *root.rglob("*")]:
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        elif path.is_dir():
            fsync_dir(path)


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

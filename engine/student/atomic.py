"""Write a directory so that it either appears complete or not at all (kill -9 safe).

A checkpoint or converted model is built in a hidden temp directory next to its final place and
renamed into place as the last step; `rename` within one filesystem is atomic, so a reader never
sees a half-written directory under the final name.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_dir(final: Path, replace: bool = True) -> Iterator[Path]:
    """Yield a temp dir to fill; on success it becomes `final`, on error it is removed.

    With replace=False an existing `final` wins (another process finished the same work first)
    and the new copy is discarded, so readers of `final` never see it disappear.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield tmp
        _fsync_tree(tmp)
        if final.exists() and not replace:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            _replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace_dir(src: Path, final: Path) -> None:
    """Rename src to final; an existing final is moved aside first and deleted after."""
    if not final.exists():
        os.rename(src, final)
        return
    old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
    os.rename(final, old)
    os.rename(src, final)
    shutil.rmtree(old, ignore_errors=True)


def _fsync_tree(root: Path) -> None:
    """Flush file contents before the rename, so a crash cannot leave a renamed but empty file."""
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def write_atomic_text(path: Path, text: str) -> None:
    """Replace a small text file atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def remove_stale_temps(parent: Path, name: str, older_than_s: float = 3600.0) -> None:
    """Delete temp/old siblings that a killed writer of `name` left behind.

    Only ones older than `older_than_s`, so a writer still at work in another process is spared.
    """
    if not parent.exists():
        return
    now = time.time()
    for pattern in (f".{name}.tmp-*", f".{name}.old-*"):
        for stale in parent.glob(pattern):
            if now - stale.stat().st_mtime > older_than_s:
                shutil.rmtree(stale, ignore_errors=True)

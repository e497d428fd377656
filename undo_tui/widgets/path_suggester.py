"""Path completion for an Input: the rest of a file or directory name, from what is on disk.

Textual shows the suggestion greyed after the cursor and → accepts it (the shell's tab
completion, fish-style). Directories complete with a trailing '/', so the next part can follow.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable

from textual.suggester import Suggester


class PathSuggester(Suggester):
    """Suggests directories and files ending in one of `suffixes` (all files when empty)."""

    def __init__(self, suffixes: Iterable[str] = ()) -> None:
        super().__init__(use_cache=False, case_sensitive=True)  # the disk changes; names are exact
        self.suffixes = tuple(suffixes)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value, self.suffixes)


def complete_path(value: str, suffixes: tuple[str, ...] = ()) -> str | None:
    """`value` completed: the one match, else the matches' common start, else the first match."""
    if not value:
        return None
    directory, prefix = os.path.split(os.path.expanduser(value))
    try:
        entries = list(os.scandir(directory or "."))
    except OSError:
        return None
    names = sorted(_name(entry) for entry in entries if entry.name.startswith(prefix)
                   and _wanted(entry, prefix, suffixes))
    if not names:
        return None
    common = os.path.commonprefix(names)
    completion = names[0] if len(names) == 1 or len(common) <= len(prefix) else common
    if completion == prefix:
        return None
    return value + completion[len(prefix):]


def _name(entry: os.DirEntry) -> str:
    return entry.name + "/" if _is_dir(entry) else entry.name


def _wanted(entry: os.DirEntry, prefix: str, suffixes: tuple[str, ...]) -> bool:
    if entry.name.startswith(".") and not prefix.startswith("."):
        return False
    return _is_dir(entry) or not suffixes or entry.name.endswith(suffixes)


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False

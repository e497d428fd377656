"""Remappable key bindings: a TOML file maps binding ids to keys, applied as Textual's keymap.

The file is `$UNDO_TUI_CONFIG` if set, else `<platform config dir>/undo-tui/keys.toml`:

    [keys]
    runs_open = "o"            # one key
    nav_down = "j,ctrl+n"      # several keys, comma-separated

Every binding id is listed on the help screen (`?`). Unknown ids, values that are not strings and
TOML syntax errors are reported (file, line) as a notification; the app still starts.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ENV_VAR = "UNDO_TUI_CONFIG"


def config_path() -> Path:
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("undo-tui", appauthor=False)) / "keys.toml"


@dataclass
class KeymapFile:
    path: Path
    keymap: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    exists: bool = False


def load_keymap(path: Path | None = None, known_ids: Iterable[str] | None = None) -> KeymapFile:
    """Read the keys file; a missing file is an empty keymap, a bad one reports its problems."""
    path = path or config_path()
    result = KeymapFile(path)
    if not path.exists():
        return result
    result.exists = True
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        result.problems.append(f"{path}: {exc}; key bindings left at their defaults")
        return result
    except (OSError, UnicodeDecodeError) as exc:
        result.problems.append(f"{path}: cannot be read ({exc}); key bindings left at defaults")
        return result
    keys = data.get("keys", {})
    unknown_tables = sorted(set(data) - {"keys"})
    if unknown_tables:
        result.problems.append(f"{path}: unknown table(s) {', '.join(unknown_tables)}; "
                               "put bindings under [keys]")
    if not isinstance(keys, dict):
        result.problems.append(f"{path}: 'keys' must be a table of binding_id = \"key\"")
        return result
    known = set(known_ids) if known_ids is not None else None
    for binding_id, value in keys.items():
        if not isinstance(value, str) or not value.strip():
            result.problems.append(f"{path}: [keys] {binding_id}: expected a key string such as "
                                   f"\"ctrl+o\", got {value!r}")
            continue
        if known is not None and binding_id not in known:
            result.problems.append(f"{path}: [keys] {binding_id}: no binding has this id "
                                   "(the help screen lists them)")
            continue
        result.keymap[binding_id] = ",".join(part.strip() for part in value.split(","))
    return result


def binding_ids(classes: Iterable[type]) -> list[str]:
    """Every binding id declared on these classes (their own BINDINGS, not inherited ones)."""
    ids = []
    for cls in classes:
        for binding in cls.__dict__.get("BINDINGS", []):
            binding_id = getattr(binding, "id", None)
            if binding_id and binding_id not in ids:
                ids.append(binding_id)
    return ids

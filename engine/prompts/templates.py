"""Versioned prompt template files: finding them (packaged or the user's), parsing, rendering.

A template is a text file named `<name>.v<version>.txt`. Lines before the first `### <role>` line
are comments; each `### system|user|assistant` line starts one chat message. Placeholders are
`${field}` only, so a lone `$` (money in a word problem, LaTeX) is literal text; `$$` is also a `$`.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from pathlib import Path

from store.errors import UndoError

PACKAGED_DIR = Path(__file__).resolve().parent
ROLES = ("system", "user", "assistant")
FIELDS = ("question", "choices", "answer_format", "previous_rationale", "student_output",
          "student_answer", "student_verdict", "student_result", "student_errors", "gold_answer")
_ROLE_LINE = re.compile(r"^###\s*(\w+)\s*$")
_FILE_NAME = re.compile(r"^(?P<name>[A-Za-z0-9_\-]+)\.v(?P<version>[0-9][A-Za-z0-9_\-]*)\.txt$")


class PromptError(UndoError):
    """A template file is malformed, missing, or needs a value the caller did not give."""


class _BracedOnly(string.Template):
    idpattern = r"(?!)"  # `$name` is never a placeholder; only `${name}` is
    braceidpattern = r"[A-Za-z_][A-Za-z0-9_]*"


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: str
    path: Path
    packaged: bool
    messages: tuple[tuple[str, str], ...]  # (role, body with placeholders)
    content_hash: str = ""  # sha256 of the file as read

    @property
    def id(self) -> str:
        """`name@vN`, plus a content hash for a user's file (it may reuse a packaged name)."""
        base = f"{self.name}@v{self.version}"
        return base if self.packaged else f"{base}~{self.content_hash[:8]}"

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(_placeholders("\n".join(body for _, body in self.messages)))

    def render(self, values: dict[str, str | None], system_prompt: str | None = None) -> list[dict]:
        """The chat messages; `system_prompt` is prepended unless the template has its own."""
        missing = sorted(f for f in self.fields if values.get(f) is None)
        if missing:
            raise PromptError(f"{self.path}: template {self.id} uses "
                              f"{', '.join('${' + m + '}' for m in missing)}, "
                              f"which this pass does not provide")
        messages = [{"role": role, "content": _BracedOnly(body).safe_substitute(values)}
                    for role, body in self.messages]
        if system_prompt and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": system_prompt})
        return messages


def load_template(name: str, override: str | Path | None = None) -> PromptTemplate:
    """Template `name` ("initial", or "initial.v1" for one version): from `override` when given.

    `override` is a file (used as is, whatever it is called) or a directory searched first for
    `<name>.v*.txt`; names it lacks fall back to the packaged templates.
    """
    if override is not None:
        path = Path(override).expanduser()
        if path.is_file():
            return parse_template(path, packaged=False)
        if not path.is_dir():
            raise PromptError(f"{path}: prompt override is neither a file nor a directory")
        found = _find(path, name)
        if found is not None:
            return parse_template(found, packaged=False)
    found = _find(PACKAGED_DIR, name)
    if found is None:
        known = ", ".join(sorted({m.group("name") for p in PACKAGED_DIR.glob("*.txt")
                                  if (m := _FILE_NAME.match(p.name))}))
        raise PromptError(f"no prompt template {name!r} (packaged templates: {known})")
    return parse_template(found, packaged=True)


def parse_template(path: Path, packaged: bool = False) -> PromptTemplate:
    """Read and check a template file; errors name the file and line."""
    match = _FILE_NAME.match(path.name)
    name, version = (match.group("name"), match.group("version")) if match else (path.stem, "0")
    try:
        raw = path.read_bytes()
        lines = raw.decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"{path}: cannot read prompt template ({exc})") from None
    messages: list[tuple[str, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        role = _ROLE_LINE.match(line)
        if role:
            if role.group(1) not in ROLES:
                raise PromptError(f"{path}, line {number}: unknown role {role.group(1)!r} "
                                  f"(use {', '.join(ROLES)})")
            messages.append((role.group(1), []))
        elif messages:
            _check_line(path, number, line)
            messages[-1][1].append(line)
    if not messages:
        raise PromptError(f"{path}: no '### user' line; a template needs at least one message")
    bodies = tuple((role, "\n".join(body).strip("\n")) for role, body in messages)
    if bodies[-1][0] != "user":
        raise PromptError(f"{path}: the last message must be a '### user' message")
    return PromptTemplate(name, version, path, packaged, bodies, hashlib.sha256(raw).hexdigest())


def _check_line(path: Path, number: int, line: str) -> None:
    for field in _placeholders(line):
        if field not in FIELDS:
            raise PromptError(f"{path}, line {number}: unknown field ${{{field}}}; "
                              f"known fields: {', '.join(FIELDS)}")


def _placeholders(text: str) -> list[str]:
    return [m.group("braced") for m in _BracedOnly.pattern.finditer(text) if m.group("braced")]


def _find(directory: Path, name: str) -> Path | None:
    """`name.vN.txt` exactly, or the highest version of `name` in `directory`."""
    wanted = name.replace("@v", ".v")
    exact = directory / f"{wanted}.txt"
    if _FILE_NAME.match(exact.name) and exact.is_file():
        return exact
    versions = [p for p in directory.glob(f"{name}.v*.txt")
                if (m := _FILE_NAME.match(p.name)) and m.group("name") == name]
    return max(versions, key=lambda p: _version_key(p.name)) if versions else None


def _version_key(filename: str) -> tuple:
    version = _FILE_NAME.match(filename).group("version")
    return tuple(int(part) if part.isdigit() else 0 for part in re.split(r"[_\-]", version)) \
        if version[0].isdigit() else (0,)

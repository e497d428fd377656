"""Pydantic's validation errors, said the way every undo-tui message is: the file, the dotted key
and what is allowed ("run.toml: loop.keep: 'most' is not allowed; choose one of 'correct', ...")."""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from engine.errors import ConfigError

TYPE_WORDS = {"int_type": "an integer", "float_type": "a number", "bool_type": "true or false",
              "string_type": "a string", "list_type": "a list"}
TABLE_TYPES = ("model_type", "model_attributes_type", "dict_type", "union_tag_not_found")
BOUND_TYPES = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
SIGNS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}  # annotated-types' bound attributes


def config_error(exc: ValidationError, source: str, root: Any, prefix: tuple = ()) -> ConfigError:
    """One line per problem, each naming `source` and the key; `root` is the validated type and
    `prefix` the keys above it (("teacher",) when a [teacher] table is validated alone)."""
    lines = [f"{source}: {describe(error, root, prefix)}" for error in exc.errors()]
    return ConfigError("\n".join(lines))


def describe(error: dict, root: Any, prefix: tuple = ()) -> str:
    at = _resolve(root, error["loc"])
    key = ".".join(map(str, prefix + at.keys))
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        allowed = ", ".join(at.parent.model_fields) if at.parent else "?"
        if at.parent is not None and not at.keys[:-1] and not prefix:
            return f"unknown section [{key}]; allowed sections: {allowed}"
        backend = getattr(at.parent, "model_fields", {}).get("backend")
        which = (f" for backend {get_args(backend.annotation)[0]!r}"
                 if backend is not None and get_origin(backend.annotation) is Literal else "")
        return f"{key}: unknown key{which}; allowed keys: {allowed}"
    if kind == "missing":
        about = f" ({at.field.description})" if at.field and at.field.description else ""
        return f"{key}: required{about}"
    if kind == "literal_error":
        return f"{key}: {value!r} is not allowed; choose one of {_choices(at.field)}"
    if kind == "union_tag_invalid":
        tag = f"{key}.backend" if key else "backend"
        return (f"{tag}: {error['ctx']['tag']!r} is not allowed; choose one of "
                f"{error['ctx']['expected_tags']}")
    if kind in TYPE_WORDS:
        return f"{key}: expected {TYPE_WORDS[kind]}, got {value!r}"
    if kind in TABLE_TYPES:
        return f"[{key}] must be a table, got {value!r}"
    if kind in BOUND_TYPES:
        return f"{key}: must be {_bounds(at.field, error)}, got {value!r}"
    if kind in ("string_too_short", "too_short"):
        return f"{key}: must not be empty"
    if kind == "finite_number":
        return f"{key}: must be a finite number, got {value!r}"
    return f"{key}: {error['msg'].removeprefix('Value error, ')}"


class _Place(typing.NamedTuple):
    keys: tuple  # the location as the user wrote it (a union's tag left out)
    parent: type[BaseModel] | None  # the table the last key is in
    field: FieldInfo | None  # the last key's field


def _resolve(root: Any, loc: tuple) -> _Place:
    """Walk a location through the models; a discriminated union's tag is a step of its own."""
    current, parent, field, keys = root, None, None, []
    for part in loc:
        current = _unwrap(current)
        members = {_tag(m): m for m in _union_members(current)}
        if part in members:
            current = members[part]
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            parent, field = current, current.model_fields.get(part)
            current = field.annotation if field else None
        keys.append(part)
    return _Place(tuple(keys), parent, field)


def _unwrap(annotation: Any) -> Any:
    """The type inside Annotated[...] and Optional[...]."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, types.UnionType) and len(args) == 1:
        return _unwrap(args[0])
    return annotation


def _union_members(annotation: Any) -> list:
    if get_origin(annotation) not in (Union, types.UnionType):
        return []
    return [_unwrap(a) for a in get_args(annotation)
            if isinstance(_unwrap(a), type) and issubclass(_unwrap(a), BaseModel)]


def _tag(model: type[BaseModel]) -> Any:
    backend = model.model_fields.get("backend")
    return get_args(backend.annotation)[0] if backend and get_args(backend.annotation) else None


def _choices(field: FieldInfo | None) -> str:
    """The allowed values of a Literal field, or of each item of a list of them."""
    annotation = _unwrap(field.annotation) if field else None
    if get_origin(annotation) is list:
        annotation = _unwrap(get_args(annotation)[0])
    values = get_args(annotation) if annotation is not None else ()
    return ", ".join(repr(v) for v in values) or "?"


def _bounds(field: FieldInfo | None, error: dict) -> str:
    """Every bound of the field ("> 0 and < 1"), not only the one that failed."""
    words = [f"{sign} {getattr(bound, name)}" for bound in (field.metadata if field else [])
             for name, sign in SIGNS.items() if hasattr(bound, name)]
    words = words or [f"{SIGNS[name]} {limit}" for name, limit in error.get("ctx", {}).items()
                      if name in SIGNS]
    return " and ".join(words)

"""The JSON Schema of a run file (`undo-tui config schema`; a Training Wheels sweep file's with
`--sweep`), for editors' TOML language servers (Taplo / Even Better TOML: completion, hover docs
from each key's description, checking)."""

from __future__ import annotations

from pydantic import BaseModel

from engine.config.run import RunConfig

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def run_config_schema() -> dict:
    return json_schema(RunConfig, "undo-tui run configuration",
                       "One UNDO run: `undo-tui run FILE`. Check a file with "
                       "`undo-tui config check FILE`.")


def json_schema(model: type[BaseModel], title: str, description: str) -> dict:
    """A configuration model's schema, titled, in the dialect editors expect."""
    schema = model.model_json_schema()
    schema["title"] = title
    schema["description"] = description
    return {"$schema": DIALECT, **schema}

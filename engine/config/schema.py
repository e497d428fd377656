"""The JSON Schema of a run file (`undo-tui config schema`), for editors' TOML language servers
(Taplo / Even Better TOML: completion, hover docs from each key's description, checking)."""

from __future__ import annotations

from engine.config.run import RunConfig

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def run_config_schema() -> dict:
    schema = RunConfig.model_json_schema()
    schema["title"] = "undo-tui run configuration"
    schema["description"] = ("One UNDO run: `undo-tui run FILE`. Check a file with "
                             "`undo-tui config check FILE`.")
    return {"$schema": DIALECT, **schema}

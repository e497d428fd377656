"""What every configuration table shares: unknown keys refused, TOML types taken as they are."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Table(BaseModel):
    """One TOML table. Strict: "4" is not an integer and "yes" not a boolean (TOML has both
    types, so a quoted value is a mistake worth naming); an integer is accepted for a float."""

    model_config = ConfigDict(extra="forbid", strict=True)

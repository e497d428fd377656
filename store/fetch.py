"""Fetching many rows in one step (one aggregate row), for queries run beside a busy UI thread."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database


def all_rows(db: Database, sql: str, params: list[Any], width: int) -> list[tuple]:
    """Every row of `sql` (which selects `width` columns) fetched in one step, as one JSON array.

    A query that returns thousands of rows row by row releases and re-takes the GIL once per
    row; in a worker thread beside a busy UI thread each re-take can wait a full switch
    interval, which turned 20 ms queries into 300 ms ones. One aggregate row avoids that.
    """
    columns = ", ".join(f"c{i}" for i in range(width))
    wrapped = (f"WITH inner_rows({columns}) AS ({sql}) "
               f"SELECT json_group_array(json_array({columns})) FROM inner_rows")
    text = db.execute(wrapped, params).fetchone()[0]
    return [tuple(row) for row in json.loads(text)] if text else []


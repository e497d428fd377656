"""One Parquet file with the flat columns plus `messages` (written through `datasets`)."""

from engine.export.formats.base import Format
from engine.export.formats.flat import from_row, to_row

FORMAT = Format("parquet", "parquet", ".parquet", to_row, from_row,
                "Parquet file (flat columns + messages)")

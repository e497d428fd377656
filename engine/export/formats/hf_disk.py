"""A Hugging Face `datasets` directory (Dataset.save_to_disk); load it with load_from_disk."""

from engine.export.formats.base import Format
from engine.export.formats.flat import from_row, to_row

FORMAT = Format("hf", "hf", "", to_row, from_row,
                "datasets save_to_disk directory (flat columns + messages), manifest.json inside")

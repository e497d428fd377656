"""The dataset card (README.md) beside every export, so its folder is ready for `hf upload`.

The card's YAML is huggingface_hub's DatasetCardData (license, task, size, language, one config
per export with its data files); the prose is each export's manifest in words: where the rows
came from (dataset, run, teacher, student, iteration) and how they were cut (filters, counts,
exclusions). A directory export (hf) carries its own card; the exports written as files into one
folder share one card, rebuilt from their manifests after each export, so it lists every export
there. A README.md that undo-tui did not write is never replaced.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.export.card_text import export_section, license_section
from engine.export.manifest import MARKER

CARD = "README.md"
SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"))
TASKS = ["text-generation", "question-answering"]
ENGLISH_SOURCES = ("builtin:",)  # sources whose language undo-tui knows (its own generator)


@dataclass(frozen=True)
class CardEntry:
    """One export on the card: its data files (relative to the card's folder) and manifest."""

    data_files: str
    manifest: dict

    @property
    def config_name(self) -> str:
        stem = Path(self.manifest["data"]).name.split(".")[0] or "default"
        return re.sub(r"[^A-Za-z0-9_-]+", "-", stem)


def size_category(rows: int) -> str:
    return next((name for bound, name in SIZES if rows < bound), "n>10M")


def build_card(entries: list[CardEntry], folder_name: str):
    from huggingface_hub import DatasetCard, DatasetCardData

    licenses = {entry.manifest["dataset"].get("license") if entry.manifest.get("dataset")
                else None for entry in entries}
    known = licenses.pop() if len(licenses) == 1 else None
    data = DatasetCardData(
        license=known or "other", language=_languages(entries), task_categories=TASKS,
        size_categories=[size_category(sum(e.manifest["rows"] for e in entries))],
        pretty_name=_title(entries), tags=["undo-tui", "distillation", "rationales", "synthetic"],
        configs=_configs(entries), **({} if known else {"license_name": "unknown"}),
        **{MARKER: 1})
    prose = [f"# {_title(entries)}", "",
             "Rationales written by a teacher model and kept by undo-tui's UNDO loop "
             "(iterative knowledge distillation), one row per training question. Each config "
             "below is one export; the manifest beside its data holds the full record.", "",
             *license_section([entry.manifest for entry in entries], known), "",
             *[line for entry in entries for line in export_section(
                 entry.config_name, entry.data_files, entry.manifest)],
             "## Publishing", "",
             "This folder is ready for the Hugging Face Hub (the `hf` command comes with "
             "huggingface_hub; log in with `hf auth login` or set HF_TOKEN):", "",
             "```", upload_command(folder_name), "```", ""]
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(prose))


def upload_command(folder_name: str, local: str = ".") -> str:
    """The Hub upload of a card's folder (run inside it, or name it as `local`)."""
    return f"hf upload YOUR-NAME/{folder_name} {local} --repo-type dataset"


def _title(entries: list[CardEntry]) -> str:
    names = sorted({(e.manifest.get("dataset") or {}).get("name") or "unknown" for e in entries})
    return f"{', '.join(names)}: distilled rationales"


def _languages(entries: list[CardEntry]) -> list[str] | None:
    sources = [(e.manifest.get("dataset") or {}).get("source") or "" for e in entries]
    return ["en"] if all(s.startswith(ENGLISH_SOURCES) for s in sources) else None


def _configs(entries: list[CardEntry]) -> list[dict]:
    newest = max(entries, key=lambda e: e.manifest.get("created_at", ""))
    return [{"config_name": entry.config_name,
             "data_files": [{"split": entry.manifest["filters"]["split"],
                             "path": entry.data_files}],
             **({"default": True} if entry is newest else {})} for entry in entries]


def write_card(folder: Path, entries: list[CardEntry]) -> Path:
    """README.md in `folder`, replaced whole (a reader never sees half a card)."""
    path = Path(folder) / CARD
    text = str(build_card(entries, Path(folder).resolve().name))
    handle, temporary = tempfile.mkstemp(prefix=f".{CARD}.", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)
    return path


def is_undo_card(path: Path) -> bool:
    """A README.md undo-tui wrote (its metadata has the export marker)."""
    from huggingface_hub import DatasetCard

    try:
        return bool(DatasetCard.load(path).data.to_dict().get(MARKER))
    except Exception:  # noqa: BLE001 - any unreadable README is someone else's
        return False


def file_exports_in(folder: Path) -> list[CardEntry]:
    """The exports written as files into `folder`: each manifest whose data file is there."""
    entries = []
    for path in sorted(Path(folder).glob("*.manifest.json")):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and MARKER in manifest \
                and (Path(folder) / str(manifest.get("data"))).is_file():
            entries.append(CardEntry(manifest["data"], manifest))
    return entries


def refresh_folder_card(folder: Path) -> Path | None:
    """The shared card of a folder's file exports; None when a README.md there is not
    undo-tui's (it is left as it is)."""
    path = Path(folder) / CARD
    if path.exists() and not is_undo_card(path):
        return None
    return write_card(folder, file_exports_in(folder))

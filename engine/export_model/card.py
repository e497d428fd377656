"""The model card (README.md) of an exported student: where it came from and how well it does.

Hugging Face model-card metadata in the front matter; in prose the base model, the teacher, the
data (and the export manifest when the run trained on an export), strict accuracy per split with
n and a 95% Wilson interval, the GGUF check when there is one, and the run's stored config.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import store
from engine.export_model.source import ModelSource
from engine.grading.stats import wilson_interval


@dataclass
class CardFacts:
    source: ModelSource
    dataset: str | None  # "name (source)"
    manifest: dict | None  # the export the run trained on, if any
    how: str  # how the weights were made into this model
    gguf_lines: list[str] = field(default_factory=list)  # files and the check's results


def card_facts(db, source: ModelSource) -> CardFacts:
    run = source.run
    dataset = None
    if run.dataset_id is not None:
        found = store.get_dataset(db, run.dataset_id)
        dataset = found.name + (f" ({found.source})" if found.source else "")
    manifest = None
    if run.source_export_id is not None:
        manifest = next((e.manifest for e in store.list_exports(db)
                         if e.id == run.source_export_id), None)
    how = ("the iteration's LoRA adapter merged into the base model (peft merge_and_unload, "
           "float32)" if source.is_adapter else "the trained model directory, copied as it is")
    return CardFacts(source, dataset, manifest, how)


def accuracy_rows(scores: dict[str, tuple[int, int]]) -> list[str]:
    rows = ["| split | strict accuracy | n | 95% interval (Wilson) |", "|---|---|---|---|"]
    for split, (correct, n) in scores.items():
        low, high = wilson_interval(correct, n)
        rows.append(f"| {split} | {correct / n:.1%} ({correct}/{n}) | {n} | "
                    f"{low:.1%} – {high:.1%} |")
    return rows


def render_card(facts: CardFacts) -> str:
    source, run = facts.source, facts.source.run
    where = f"iteration {source.iteration}" if source.iteration is not None else "its student"
    base = source.base_name or "unknown"
    front = ["---", "library_name: transformers", "pipeline_tag: text-generation",
             "tags:", "- undo-tui", "- distillation"]
    if "/" in base and not base.startswith(("/", ".", "~")):
        front.append(f"base_model: {base}")
    front.append("---")
    lines = [*front, "", f"# {run.name}: run {run.id}, {where}", "",
             f"A student trained by undo-tui (run kind `{run.kind}`, status {run.status}): "
             f"{facts.how}.", "", "## Provenance", "",
             f"- Base model: `{base}`",
             f"- Teacher: `{run.teacher or _teacher(run.config)}`",
             f"- Data: {facts.dataset or 'not recorded'}"]
    if facts.manifest is not None:
        lines += ["- Trained on an export; its manifest:", "", "```json",
                  json.dumps(facts.manifest, indent=1, sort_keys=True), "```"]
    lines += ["", "## Accuracy", ""]
    if source.scores:
        lines += ["Strict: the answer after an explicit answer marker equals the gold answer.",
                  "", *accuracy_rows(source.scores)]
    else:
        lines.append("No accuracy was measured for this model.")
    if facts.gguf_lines:
        lines += ["", "## GGUF", "", *[f"- {line}" for line in facts.gguf_lines]]
    lines += ["", "## Run configuration", "", "```json",
              json.dumps(run.config, indent=1, sort_keys=True), "```", ""]
    return "\n".join(lines)


def _teacher(config: dict) -> str:
    teacher = config.get("teacher")
    if isinstance(teacher, dict):
        return str(teacher.get("model", "unknown"))
    return str(config.get("distill", {}).get("teacher", "unknown"))

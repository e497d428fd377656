"""Does a GGUF answer as the Hugging Face model it came from? Greedy outputs on the same prompts.

The HF model decodes in float32 here; llama.cpp decodes the GGUF in a child process
(`llama_greedy.py`) from the same prompt token ids, so a difference is the model's, not the
tokenizer's. The GGUF's own tokenizer is checked apart: it must turn each prompt text into the
same ids (what a user of llama.cpp or Ollama sends is text).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from store.errors import UndoError

FALLBACK_PROMPTS = (
    "What is 7 + 5?", "A box holds 6 eggs. How many eggs are in 4 boxes?",
    "Sara had 20 dollars and spent 8. How much is left?", "What is 9 times 3?",
)


@dataclass(frozen=True)
class GGUFCheck:
    quant: str
    prompts: int
    identical: int  # greedy token sequences equal to the HF model's
    same_tokenization: int  # prompt texts llama.cpp tokenizes to the HF ids
    max_new_tokens: int
    first_difference: str | None = None  # the first differing pair, shortened
    shared_prefix: float = 1.0  # HF tokens before each output's first difference, over all

    def line(self) -> str:
        text = (f"{self.quant}: {self.identical}/{self.prompts} greedy outputs identical to the "
                f"HF model (float32, {self.max_new_tokens} new tokens at most); "
                f"prompt tokenization identical {self.same_tokenization}/{self.prompts}")
        if self.identical < self.prompts:
            text += f"; {self.shared_prefix:.1%} of the HF tokens precede the first difference"
        return text


@dataclass(frozen=True)
class Reference:
    """The HF model's side, computed once for every GGUF of an export."""
    prompts: list[list[int]]
    texts: list[str]
    outputs: list[list[int]]
    eos: list[int]
    max_new_tokens: int
    decode: object  # token ids -> text, for the report


def hf_reference(hf_dir: Path, questions: list, system: str | None,
                 max_new_tokens: int) -> Reference:
    from engine.student.generation import eos_ids, generate_with_model, load_student
    from engine.student.prompting import build_prompt, prompt_token_ids

    model, tokenizer = load_student(hf_dir, dtype="float32", device="cpu")
    outputs = generate_with_model(model, tokenizer, questions, max_new_tokens, batch_size=8,
                                  system=system)
    return Reference(prompts=[prompt_token_ids(q, tokenizer, system) for q in questions],
                     texts=[build_prompt(q, tokenizer, system) for q in questions],
                     outputs=[list(o.token_ids) for o in outputs],
                     eos=eos_ids(model, tokenizer), max_new_tokens=max_new_tokens,
                     decode=lambda ids: tokenizer.decode(ids, skip_special_tokens=True))


def check_gguf(gguf: Path, quant: str, reference: Reference) -> GGUFCheck:
    result = llama_greedy(gguf, reference)
    pairs = list(zip(reference.outputs, result["outputs"]))
    differing = next(((hf, gg) for hf, gg in pairs if hf != gg), None)
    first = None
    if differing is not None:
        hf, gg = differing
        at = _shared_prefix(hf, gg)
        first = (f"after {at} shared tokens, HF {reference.decode(hf[at:])[:60]!r} vs GGUF "
                 f"{reference.decode(gg[at:])[:60]!r}")
    same_tokens = sum(a == b for a, b in zip(reference.prompts, result["tokenized"]))
    shared = sum(_shared_prefix(hf, gg) for hf, gg in pairs)
    total = sum(len(hf) for hf, _ in pairs)
    return GGUFCheck(quant, len(pairs), sum(hf == gg for hf, gg in pairs), same_tokens,
                     reference.max_new_tokens, first, shared / total if total else 1.0)


def _shared_prefix(a: list[int], b: list[int]) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def llama_greedy(gguf: Path, reference: Reference) -> dict:
    request = {"gguf": str(gguf), "prompts": reference.prompts, "texts": reference.texts,
               "max_new_tokens": reference.max_new_tokens, "eos": reference.eos}
    done = subprocess.run([sys.executable, "-m", "engine.export_model.llama_greedy"],
                          input=json.dumps(request), capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise UndoError(f"{gguf}: llama.cpp could not load or run it (exit {done.returncode}):"
                        f"\n{tail}")
    return json.loads(done.stdout)

"""An Ollama Modelfile for a GGUF: the student's chat template in Ollama's Go template language.

Ollama cannot run a Jinja template, so the tokenizer's `chat_template` is recognised, not
translated token by token. Supported: the ChatML family (`<|im_start|>role ... <|im_end|>`, the
SmolLM2 and Qwen students). For any other template the Modelfile has no TEMPLATE (Ollama then
uses its own detection from the GGUF's metadata) and says so in a comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CHATML_TEMPLATE = (
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n"
    "{{ .Content }}<|im_end|>\n"
    "{{ end }}<|im_start|>assistant\n"
)
# The default system turn a ChatML template writes when the conversation has none.
_DEFAULT_SYSTEM = re.compile(r"<\|im_start\|>system\n(.*?)<\|im_end\|>", re.DOTALL)


@dataclass(frozen=True)
class Modelfile:
    text: str
    family: str | None  # "chatml", or None when the template is not one Ollama's can express


def chat_family(chat_template: str | None) -> str | None:
    if chat_template and "<|im_start|>" in chat_template and "<|im_end|>" in chat_template:
        return "chatml"
    return None


def build_modelfile(gguf_name: str, chat_template: str | None, eos_token: str | None,
                    system: str | None) -> Modelfile:
    """The Modelfile for `gguf_name` (beside it). `system` is the prompt the student learned
    with; without one, the template's own default system turn (SmolLM2 writes one) is kept."""
    family = chat_family(chat_template)
    lines = [f"# Ollama: ollama create NAME -f {gguf_name.removesuffix('.gguf')}.Modelfile",
             f"FROM ./{gguf_name}"]
    stops = [eos_token] if eos_token else []
    if family == "chatml":
        default = _DEFAULT_SYSTEM.search(chat_template)
        system = system or (default.group(1) if default else None)
        lines.append(f'TEMPLATE """{CHATML_TEMPLATE}"""')
        stops += ["<|im_end|>", "<|im_start|>"]
    else:
        lines.append("# The tokenizer's chat template is not ChatML; this Modelfile sets no "
                     "TEMPLATE (supported: ChatML).")
    if system:
        lines.append(f'SYSTEM """{system}"""')
    lines += [f'PARAMETER stop "{stop}"' for stop in dict.fromkeys(stops)]
    lines.append("PARAMETER temperature 0")  # the student was evaluated greedy
    return Modelfile("\n".join(lines) + "\n", family)


def write_modelfile(gguf: Path, tokenizer, system: str | None) -> Path:
    modelfile = build_modelfile(gguf.name, getattr(tokenizer, "chat_template", None),
                                tokenizer.eos_token, system)
    path = gguf.with_suffix(".Modelfile")
    path.write_text(modelfile.text, encoding="utf-8")
    return path

"""Child process: greedy continuations of token-id prompts by llama.cpp, as JSON on stdout.

`python -m engine.export_model.llama_greedy` reads {"gguf", "prompts" (token ids), "texts"
(the same prompts as text), "max_new_tokens", "eos" (ids)} from stdin. llama.cpp logs to stderr
and may crash on a bad file; in a child neither reaches the exporting process. Each prompt is
decoded from an empty cache, so no answer depends on the one before.
"""

from __future__ import annotations

import json
import sys


def greedy(llm, prompt: list[int], max_new_tokens: int, eos: set[int]) -> list[int]:
    llm.reset()
    out: list[int] = []
    for token in llm.generate(prompt, top_k=1, top_p=1.0, min_p=0.0, temp=0.0,
                              repeat_penalty=1.0, reset=True):
        if token in eos:
            break
        out.append(token)
        if len(out) >= max_new_tokens:
            break
    return out


def main() -> int:
    from llama_cpp import Llama

    request = json.load(sys.stdin)
    longest = max(len(p) for p in request["prompts"]) + request["max_new_tokens"] + 8
    llm = Llama(model_path=request["gguf"], n_ctx=max(longest, 256), seed=0,
                verbose=False, logits_all=False)
    try:
        eos = set(request["eos"]) | {llm.token_eos()}
        outputs = [greedy(llm, prompt, request["max_new_tokens"], eos)
                   for prompt in request["prompts"]]
        tokenized = [llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
                     for text in request["texts"]]
    finally:
        llm.close()
    json.dump({"outputs": outputs, "tokenized": tokenized}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

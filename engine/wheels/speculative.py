"""Speculative decoding as the baseline: transformers' assisted generation, the student drafting.

The output is the teacher's own (greedy: token for token), so its quality is the teacher's; its
cost is where it differs from asking: the teacher verifies every token. transformers runs it one
sequence at a time (batch size 1), so sequences go through one by one. A forward hook on the
teacher counts its passes and the tokens it read (prompt, then each verified draft).
"""

from __future__ import annotations

from typing import Sequence

import torch

from engine.wheels.decoding import AssistedOutput, DecodeOptions, Models


class _ForwardCounter:
    def __init__(self, model):
        self.calls = 0
        self.tokens = 0
        self.handle = model.register_forward_hook(self._count, with_kwargs=True)

    def _count(self, module, args, kwargs, output) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        self.calls += 1
        self.tokens += int(ids.shape[-1]) if ids is not None else 0

    def close(self) -> None:
        self.handle.remove()


def speculative_generate(models: Models, teacher_prompts: Sequence[Sequence[int]],
                         options: DecodeOptions, draft_tokens: int | None = None
                         ) -> list[AssistedOutput]:
    """Each prompt decoded by the teacher with the student as assistant model."""
    from transformers import GenerationConfig

    settings = dict(max_new_tokens=options.max_new_tokens, do_sample=options.do_sample,
                    eos_token_id=list(models.eos_ids), pad_token_id=models.pad_id,
                    num_beams=1)
    if options.do_sample:
        settings["temperature"] = options.temperature
    if draft_tokens:
        settings["num_assistant_tokens"] = draft_tokens
        settings["num_assistant_tokens_schedule"] = "constant"
    config = GenerationConfig(**settings)
    eos = set(models.eos_ids)
    outputs = []
    for index, prompt in enumerate(teacher_prompts):
        torch.manual_seed(options.seed + index)
        counter = _ForwardCounter(models.teacher)
        try:
            ids = torch.tensor([list(prompt)], dtype=torch.long, device=models.teacher.device)
            with torch.inference_mode():
                out = models.teacher.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                              assistant_model=models.student,
                                              generation_config=config)
        finally:
            counter.close()
        new = out[0, ids.shape[1]:].tolist()
        end = next((i for i, token in enumerate(new) if token in eos), None)
        kept = new if end is None else new[:end + 1]
        outputs.append(AssistedOutput(token_ids=kept, owners=[True] * len(kept),
                                      finished=end is not None, teacher_tokens=counter.tokens,
                                      teacher_calls=counter.calls,
                                      teacher_forwards=counter.calls))
    return outputs

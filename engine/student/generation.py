"""Batched greedy generation for evaluating the student, token-identical to one-at-a-time decoding.

Prompts are sorted by length so a batch carries little left padding, decoded together with the
attention mask (transformers derives position ids from it, so a padded row sees the same positions
as it would alone), and returned in input order.

Identity holds in float32 (tested here; 16/16 GSM8K answers of 128 tokens on SmolLM2 in
benchmarks/bench_eval.py). In bf16, matmul/attention kernels round differently for different batch
shapes, so a batched bf16 answer can drift from the lone bf16 answer after some tokens; pass
dtype="float32" where exact reproducibility across batch sizes matters more than speed (bf16
batched: 171 vs 107 tok/s for float32 on SmolLM2, 2 CPU cores).
Retiring finished rows from the batch (a hand-written decode loop) was tried and measured no
faster on GSM8K with SmolLM2 (most rows run to the token limit), so transformers' generate is used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

from engine.student.loading import default_device, load_model, resolve_model_dir
from engine.student.prompting import Question, prompt_token_ids

Progress = Callable[[dict], None]
ShouldStop = Callable[[], bool]


@dataclass
class GenerationOutput:
    text: str  # decoded answer, without the prompt and without special tokens
    new_tokens: int  # tokens generated, the EOS included
    finished: bool  # True: ended with EOS; False: cut at max_new_tokens
    token_ids: tuple[int, ...] = ()  # the generated ids before the EOS (exact, unlike re-encoding text)


class GenerationStopped(Exception):
    """A stop request arrived; `partial` maps input index -> output for the prompts finished."""

    def __init__(self, partial: dict[int, GenerationOutput]):
        super().__init__(f"generation stopped after {len(partial)} prompts")
        self.partial = partial


def load_student(model_path: Path, adapter_path: Path | None = None, dtype: str = "auto",
                 device: str | None = None):
    """(model, tokenizer) ready for inference; a LoRA adapter is merged in, which makes each
    decode step as cheap as the base model's. A full fine-tuning checkpoint given as the adapter
    replaces the base model, so callers need not know which kind an iteration produced."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    device = device or default_device()
    adapter = Path(adapter_path) if adapter_path is not None else None
    if adapter is not None and not (adapter / "adapter_config.json").is_file():
        model_path, adapter = adapter, None  # a whole model (full fine-tuning)
    model = load_model(model_path, dtype=dtype, device=device)
    if adapter is not None:
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_dir(Path(model_path)))
    model.eval()
    return model, tokenizer


def generate_answers(model_path: Path, adapter_path: Path | None, prompts: Sequence[Question],
                     max_new_tokens: int = 512, batch_size: int = 16, progress: Progress | None = None,
                     should_stop: ShouldStop | None = None, system: str | None = None,
                     dtype: str = "auto", device: str | None = None) -> list[GenerationOutput]:
    """Greedy answers for `prompts`, in input order. Raises GenerationStopped on a stop request."""
    model, tokenizer = load_student(model_path, adapter_path, dtype, device)
    return generate_with_model(model, tokenizer, prompts, max_new_tokens, batch_size, progress,
                               should_stop, system)


def generate_with_model(model, tokenizer, prompts: Sequence[Question], max_new_tokens: int = 512,
                        batch_size: int = 16, progress: Progress | None = None,
                        should_stop: ShouldStop | None = None,
                        system: str | None = None) -> list[GenerationOutput]:
    """Like generate_answers, with a model already loaded (evaluating several splits reuses it)."""
    results: dict[int, GenerationOutput] = {}
    try:
        generate_in_batches(model, tokenizer, prompts, max_new_tokens, batch_size,
                            lambda batch, outputs: results.update(zip(batch, outputs)),
                            progress=progress, should_stop=should_stop, system=system)
    except GenerationStopped:
        raise GenerationStopped(results) from None
    return [results[i] for i in range(len(prompts))]


def generate_in_batches(model, tokenizer, prompts: Sequence[Question], max_new_tokens: int,
                        batch_size: int, on_batch: Callable[[list[int], list[GenerationOutput]], None],
                        *, done: set[int] = frozenset(), progress: Progress | None = None,
                        should_stop: ShouldStop | None = None, system: str | None = None) -> None:
    """Greedy answers batch by batch, handed to `on_batch(indices, outputs)` as each finishes.

    The batches are fixed by the prompts alone (sorted by length, cut every batch_size), never by
    what is already `done`: a batch whose prompts are all done is skipped, any other is decoded
    whole. In bf16 an answer depends on its batch's shape, so this is what makes a resumed
    evaluation give the same answers as an uninterrupted one. Raises GenerationStopped (with no
    partial results: each finished batch was already handed over) on a stop request.
    """
    if batch_size < 1 or max_new_tokens < 1:
        raise ValueError("batch_size and max_new_tokens must be >= 1")
    encoded = [prompt_token_ids(prompt, tokenizer, system) for prompt in prompts]
    batches = plan_batches(encoded, batch_size, done)
    config = greedy_config(model, tokenizer, max_new_tokens)
    stopper = StopRequested(should_stop)
    meter = _Meter(sum(len(batch) for batch in batches), progress)
    for batch in batches:
        if stopper.check():
            raise GenerationStopped({})
        outputs = decode_batch(model, tokenizer, [encoded[i] for i in batch], config, stopper)
        if stopper.requested:
            raise GenerationStopped({})
        on_batch(batch, outputs)
        meter.update(len(batch), sum(o.new_tokens for o in outputs))


def plan_batches(encoded: Sequence[Sequence[int]], batch_size: int,
                 done: set[int] = frozenset()) -> list[list[int]]:
    """The batches of input indices, fixed by the prompts alone; those all `done` left out.
    Longest first (peak memory early); ties by input index, so the plan is the same every time."""
    order = sorted(range(len(encoded)), key=lambda i: (-len(encoded[i]), i))
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    return [batch for batch in batches if not set(batch) <= done]


def greedy_config(model, tokenizer, max_new_tokens: int) -> GenerationConfig:
    """Plain greedy decoding; the model's own sampling defaults are deliberately not inherited."""
    eos = eos_ids(model, tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0]
    return GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                            eos_token_id=eos, pad_token_id=pad, use_cache=True)


def eos_ids(model, tokenizer) -> list[int]:
    """Every token that ends an answer: the tokenizer's EOS (what training appends) plus the
    model's generation EOS list (e.g. Llama 3's end-of-turn)."""
    ids = [tokenizer.eos_token_id]
    configured = getattr(model.generation_config, "eos_token_id", None)
    ids += configured if isinstance(configured, list) else [configured]
    return list(dict.fromkeys(i for i in ids if i is not None))


def decode_batch(model, tokenizer, prompts: list[list[int]], config: GenerationConfig,
                    stopper: "StopRequested") -> list[GenerationOutput]:
    input_ids, mask = left_pad(prompts, config.pad_token_id, model.device)
    with torch.inference_mode():
        out = model.generate(input_ids=input_ids, attention_mask=mask, generation_config=config,
                             stopping_criteria=StoppingCriteriaList([stopper]))
    new = out[:, input_ids.shape[1]:].tolist()
    return [_decode(row, tokenizer, set(config.eos_token_id)) for row in new]


def left_pad(prompts: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
        mask[row, width - len(prompt):] = 1
    return ids.to(device), mask.to(device)


def _decode(row: list[int], tokenizer, eos: set[int]) -> GenerationOutput:
    """Cut at the first EOS; tokens after it are padding of a batch that kept going."""
    end = next((i for i, token in enumerate(row) if token in eos), None)
    kept = row if end is None else row[:end]
    text = tokenizer.decode(kept, skip_special_tokens=True)
    return GenerationOutput(text=text, new_tokens=len(kept) + (end is not None), finished=end is not None,
                            token_ids=tuple(kept))


POLL_EVERY_S = 0.25  # should_stop may read a file or a database: not at every token


class StopRequested(StoppingCriteria):
    """Ends a generate() call early when should_stop() says so; asked before every batch and
    at most every POLL_EVERY_S seconds while one decodes."""

    def __init__(self, should_stop: ShouldStop | None):
        self.should_stop = should_stop
        self.last = 0.0
        self.requested = False

    def check(self) -> bool:
        if self.should_stop is not None and not self.requested:
            self.last = time.monotonic()
            self.requested = bool(self.should_stop())
        return self.requested

    def __call__(self, input_ids, scores, **kwargs) -> torch.Tensor:
        if time.monotonic() - self.last >= POLL_EVERY_S:
            self.check()
        return torch.full((input_ids.shape[0],), self.requested, dtype=torch.bool, device=input_ids.device)


class _Meter:
    """Progress events after each batch: done/total, generated tokens per second, ETA."""

    def __init__(self, total: int, progress: Progress | None):
        self.total, self.progress = total, progress
        self.done, self.tokens = 0, 0
        self.started = time.perf_counter()

    def update(self, prompts: int, tokens: int) -> None:
        self.done += prompts
        self.tokens += tokens
        if self.progress is None:
            return
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        self.progress({"stage": "evaluate", "done": self.done, "total": self.total,
                       "tokens_per_s": self.tokens / elapsed if elapsed > 0 else 0.0,
                       "eta_s": (self.total - self.done) / rate if rate else None})

"""Same-tokenizer pairs, and making one by shrinking a model (`undo-tui student shrink`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.wheels.pair import ASK_TOKEN, PairMismatch, check_pair
from engine.wheels.shrink import ShrinkError, evenly_spaced, keep_layers

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tokenizer(smollm2_tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_tokenizer_dir)


def fresh(tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tokenizer_dir)


def test_a_tokenizer_pairs_with_itself(tokenizer, smollm2_tokenizer_dir):
    pair = check_pair(tokenizer, fresh(smollm2_tokenizer_dir))
    assert pair.vocab_size == len(tokenizer) and pair.ask_token_id is None


def test_a_different_vocabulary_is_refused_with_the_difference(tokenizer, smollm2_tokenizer_dir):
    other = fresh(smollm2_tokenizer_dir)
    other.add_tokens(["<extra-word>"])
    with pytest.raises(PairMismatch, match=r"do not share a tokenizer \(49152 vs 49153 tokens\): "
                                           r"'<extra-word>' only in teacher"):
        check_pair(tokenizer, other)


def test_moved_ids_and_special_tokens_are_refused(tokenizer, smollm2_tokenizer_dir):
    swapped = fresh(smollm2_tokenizer_dir)
    vocab = tokenizer.get_vocab()
    a, b = sorted(vocab, key=vocab.get)[1000:1002]
    moved = dict(vocab, **{a: vocab[b], b: vocab[a]})

    class Moved:  # the same tokens under other ids: what two families' tokenizers look like
        def __getattr__(self, name):
            return getattr(swapped, name)

        def get_vocab(self):
            return moved

    with pytest.raises(PairMismatch, match=re.escape(f"token {a!r} has id {vocab[a]} in student "
                                                     f"but {vocab[b]} in teacher")):
        check_pair(tokenizer, Moved())
    other_eos = fresh(smollm2_tokenizer_dir)
    other_eos.eos_token = "<|im_start|>"
    with pytest.raises(PairMismatch, match=re.escape("eos_token is '<|im_end|>' vs '<|im_start|>'")):
        check_pair(tokenizer, other_eos)


def test_a_student_may_carry_one_extra_ask_token(tokenizer, smollm2_tokenizer_dir):
    student = fresh(smollm2_tokenizer_dir)
    student.add_special_tokens({"additional_special_tokens": [ASK_TOKEN]})
    pair = check_pair(student, tokenizer)
    assert pair.ask_token_id == len(tokenizer) and pair.vocab_size == len(tokenizer)


def test_evenly_spaced_layers_keep_the_first_and_the_last():
    assert evenly_spaced(30, 10) == [0, 3, 6, 10, 13, 16, 19, 23, 26, 29]
    assert evenly_spaced(4, 2) == [0, 3] and evenly_spaced(4, 1) == [0]
    assert evenly_spaced(5, 5) == [0, 1, 2, 3, 4]
    for bad in (0, 6):
        with pytest.raises(ShrinkError, match="--keep-layers must be between 1 and 5"):
            evenly_spaced(5, bad)


def four_layer_llama(tokenizer, target: Path) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                         initializer_range=0.1, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def greedy(model, ids: torch.Tensor, use_cache: bool) -> list[int]:
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=12,
                             do_sample=False, use_cache=use_cache, pad_token_id=0)
    return out[0, ids.shape[1]:].tolist()


def test_shrink_renumbers_the_kept_layers_so_the_kv_cache_works(tokenizer, tmp_path):
    from transformers import AutoModelForCausalLM

    source = four_layer_llama(tokenizer, tmp_path / "four")
    out = tmp_path / "two"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "undo_tui.cli", "student", "shrink", "--from",
                           str(source), "--keep-layers", "2", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "kept layers [0, 3] of 4" in done.stdout
    big = AutoModelForCausalLM.from_pretrained(source)
    small = AutoModelForCausalLM.from_pretrained(out)
    assert small.config.num_hidden_layers == 2
    assert [layer.self_attn.layer_idx for layer in small.model.layers] == [0, 1]
    torch.testing.assert_close(small.model.layers[1].mlp.up_proj.weight,
                               big.model.layers[3].mlp.up_proj.weight)
    ids = torch.tensor([[1, 9690, 198, 2683, 359, 253, 4000, 77]])
    assert greedy(small, ids, use_cache=True) == greedy(small, ids, use_cache=False)
    refused = subprocess.run([sys.executable, "-m", "undo_tui.cli", "student", "shrink", "--from",
                              str(source), "--keep-layers", "2", "--out", str(out)],
                             capture_output=True, text=True, env=env, timeout=300)
    assert refused.returncode == 2 and "already exists and is not empty" in refused.stderr


def test_without_renumbering_the_cache_would_break(tokenizer, tmp_path):
    """Why shrink renumbers: the kept layer 3 would write slot 3 of a 2-layer cache."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(four_layer_llama(tokenizer, tmp_path / "four"))
    ids = torch.tensor([[1, 9690, 198, 2683, 359, 253, 4000, 77]])
    keep_layers(model, [0, 3])
    renumbered = greedy(model, ids, use_cache=True)
    model.model.layers[1].self_attn.layer_idx = 3  # undo the renumbering
    try:
        broken = greedy(model, ids, use_cache=True)
    except (IndexError, RuntimeError, ValueError):
        broken = None
    assert broken != renumbered

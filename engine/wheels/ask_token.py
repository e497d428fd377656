"""Giving a student its `<ask>` token: one new special token after the shared vocabulary.

Its input and output rows start at the mean of the existing rows, so the new token begins as an
average token: its logit is ordinary, neither always nor never chosen, and training moves it from
there (a random row would start it at an arbitrary, often extreme, logit). The token must come
after every shared id, because assisted decoding compares the two models' logits on the shared
ids only and reads the student's `<ask>` column apart (engine.wheels.models.load_pair checks it).
"""

from __future__ import annotations

from engine.wheels.pair import ASK_TOKEN


def add_ask_token(model, tokenizer) -> int:
    """The `<ask>` id, added to the tokenizer and the model (rows at the mean) unless present."""
    import torch
    from transformers import AddedToken

    vocab = tokenizer.get_vocab()
    if ASK_TOKEN in vocab:
        return vocab[ASK_TOKEN]
    shared = len(tokenizer)
    tokenizer.add_tokens([AddedToken(ASK_TOKEN, special=True, normalized=False)],
                         special_tokens=True)
    ask_id = tokenizer.convert_tokens_to_ids(ASK_TOKEN)
    if ask_id >= model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(ask_id + 1, mean_resizing=False)
    with torch.no_grad():
        inputs = model.get_input_embeddings().weight
        inputs[ask_id] = inputs[:shared].mean(dim=0)
        outputs = model.get_output_embeddings()
        if outputs is not None and outputs.weight.data_ptr() != inputs.data_ptr():
            outputs.weight[ask_id] = outputs.weight[:shared].mean(dim=0)
            if getattr(outputs, "bias", None) is not None:
                outputs.bias[ask_id] = outputs.bias[:shared].mean()
    return ask_id

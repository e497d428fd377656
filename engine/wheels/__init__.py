"""Training Wheels, test-time side: a student that asks a same-tokenizer teacher for single tokens.

`pair` checks that two models share a tokenizer, `shrink` makes a weaker student by keeping
evenly spaced layers, `decoding` runs the batched assisted decoder (two KV caches, a policy per
step, an online budget and an exact hard cap), `policies` and `budget` decide when to ask,
`speculative` wraps transformers' assisted generation as the speculative-decoding baseline, and
`sweep` evaluates a split at several budgets per policy and stores every point as a run.
Only `config` and `ask_settings` are importable without torch.
"""

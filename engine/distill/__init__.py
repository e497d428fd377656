"""Distillation as a run of its own (kind 'distill'): its configuration, the driver that trains,
measures and evaluates in the calling process, and the words for its figures (pure)."""

"""`undo-tui demo`'s engine side: the plan (config, packaged models, which run) and the scrub."""

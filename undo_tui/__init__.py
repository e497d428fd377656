"""undo_tui."""

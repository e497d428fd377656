"""The TUI's screens, one module each; styles live in undo_tui/styles/*.tcss."""

"""One module per `undo-tui` subcommand."""

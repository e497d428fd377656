"""The UNDO loop: a supervisor process that runs each heavy stage in its own child process."""

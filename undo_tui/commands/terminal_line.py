"""One line of a terminal that updates in place (`\\r`), with permanent lines printed above it;
on a pipe or a file every update is a line of its own."""

from __future__ import annotations

import sys


class TerminalLine:
    """show() redraws one line in place on a terminal (a plain line each time otherwise);
    echo() prints a permanent line above it; finish() ends it."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty()
        self.width = 0

    def show(self, text: str) -> None:
        if self.interactive:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def echo(self, line: str) -> None:
        if self.interactive and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.width = 0
        self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.interactive and self.width:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0

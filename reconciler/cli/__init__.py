"""The command line, `python -m reconciler COMMAND` (entry.py builds the parser and runs it)."""

from reconciler.cli.entry import main

__all__ = ["main"]

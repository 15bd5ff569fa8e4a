"""How a command writes: results to stdout, or with --json one document on stdout and the
human text on stderr; the exit codes and the error that ends a command."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import ClassVar, TextIO

from reconciler.policy import Problem

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_HELD = 0, 1, 2, 3


class Output:
    """Where a command writes: results to stdout, or with --json one document to stdout and
    the human text to stderr. Colour only on a terminal, and never with NO_COLOR set."""

    _COLOURS: ClassVar[dict[str, str]] = {
        "ok": "32",
        "bad": "31",
        "warn": "33",
        "dim": "2",
        "bold": "1",
    }

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.stream: TextIO = sys.stderr if json_mode else sys.stdout
        self.colour = self.stream.isatty() and "NO_COLOR" not in os.environ
        encoding = getattr(self.stream, "encoding", None) or "ascii"
        try:
            "✓✗".encode(encoding)
            self.marks = {"ok": "✓", "bad": "✗"}
        except (UnicodeEncodeError, LookupError):
            self.marks = {"ok": "ok", "bad": "x"}

    def say(self, text: str = "") -> None:
        print(text, file=self.stream)

    def paint(self, text: str, style: str) -> str:
        return f"\033[{self._COLOURS[style]}m{text}\033[0m" if self.colour else text

    def mark(self, ok: bool) -> str:
        return self.paint(self.marks["ok"], "ok") if ok else self.paint(self.marks["bad"], "bad")

    def document(self, data: object) -> None:
        if self.json_mode:
            json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
            sys.stdout.write("\n")

    def fail(self, message: str, hint: str = "", **details: object) -> int:
        """Report an error that ends the command; with --json the document is
        {"ok": false, "error": ..., "hint": ..., **details}."""
        print(self.paint("error: ", "bad") + message, file=sys.stderr)
        if hint:
            print(f"  hint: {hint}", file=sys.stderr)
        self.document({"ok": False, "error": message, "hint": hint or None, **details})
        return EXIT_ERRORS

    def problem(self, problem: Problem) -> None:
        head, _, rest = str(problem).partition("\n")
        style = "bad" if problem.is_error else "warn"
        self.say(self.paint(head, style))
        excerpt = _excerpt(problem)
        if excerpt:
            self.say(excerpt)
        if rest:
            self.say(self.paint(rest, "dim"))


def _excerpt(problem: Problem, width: int = 100) -> str:
    """The file's line at the problem, with a caret under the column."""
    if problem.line <= 0:
        return ""
    try:
        lines = Path(problem.file).read_text(encoding="utf-8-sig").splitlines()
        line = lines[problem.line - 1].replace("\t", " ")
    except (OSError, UnicodeDecodeError, IndexError):
        return ""
    column = max(problem.column - 1, 0)
    if len(line) > width:  # show a window around the column of a long rule
        start = max(0, min(column - width // 2, len(line) - width))
        prefix = "…" if start else ""
        line = prefix + line[start : start + width] + ("…" if start + width < len(line) else "")
        column = column - start + len(prefix)
    return f"    {line}\n    {' ' * column}^"


def shorten(text: str, longest: int = 120) -> str:
    """`text` with each word longer than `longest` cut in the middle: a Graph URL with a
    $filter of 15 ids is 700 characters that say no more than its path does (--json keeps the
    whole text)."""
    half = longest // 2
    return " ".join(
        word if len(word) <= longest else f"{word[:half]}…{word[-half // 2 :]}"
        for word in text.split(" ")
    )


class CommandError(Exception):
    """Ends a command with exit code 1: `message`, a `hint`, and `details` for the --json
    document."""

    exit_code = EXIT_ERRORS

    def __init__(self, message: str, hint: str = "", **details: object) -> None:
        super().__init__(message)
        self.message, self.hint, self.details = message, hint, details


class UsageError(CommandError):
    """A command given something it cannot mean (an id not in the rules file): exit code 2,
    like argparse's own usage errors."""

    exit_code = EXIT_USAGE


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def bool_text(value: bool | None) -> str:
    return "undecided" if value is None else str(value).lower()

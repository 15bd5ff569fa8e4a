"""Where each key and value of a TOML document sits in its source text.

tomllib returns plain data and no positions, so this module scans the same text a second time
and records, for every value path (``("groups", 0, "rule")``), where its key and its value
start, and for strings which characters of the source produced which characters of the value.
That lets a rule error at offset 17 of a rule become line 12, column 40 of the file, escapes
and multi-line strings included.

The scan runs only on text tomllib has already accepted, so it never reports syntax errors;
anything it cannot place falls back to the nearest enclosing table.
"""

from __future__ import annotations

import bisect
import contextlib
import tomllib
from dataclasses import dataclass

KeyPath = tuple[str | int, ...]

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END = frozenset(",]}#\n")
_SIMPLE_ESCAPES = frozenset('btnfre"\\')
_HEX_ESCAPE_LENGTH = {"u": 6, "U": 10, "x": 4}


@dataclass(frozen=True, slots=True)
class StringValue:
    """A string value's delimiters: `kind` is "basic", "literal", "ml_basic" or "ml_literal";
    `start`/`end` bound the characters between the quotes (after a trimmed first newline)."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ValueSpan:
    """One value: where its key starts (None for array items) and where the value itself starts."""

    key_start: int | None
    start: int
    string: StringValue | None = None


def normalize_newlines(text: str) -> str:
    """tomllib reads CRLF as LF before parsing; positions must be counted on the same text."""
    return text.replace("\r\n", "\n")


class SourceMap:
    """Positions of the values of one TOML document (already accepted by tomllib)."""

    def __init__(self, text: str) -> None:
        self.text = normalize_newlines(text)
        self._line_starts = [0] + [i + 1 for i, c in enumerate(self.text) if c == "\n"]
        self._values: dict[KeyPath, ValueSpan] = {}
        self._headers: dict[KeyPath, int] = {}
        self._table_arrays: dict[KeyPath, int] = {}
        # Text tomllib accepted but this scanner did not: keep what was found so far and let
        # lookups fall back to enclosing tables rather than failing the whole load.
        with contextlib.suppress(IndexError, ValueError):
            _Scanner(self).run()

    def line_column(self, offset: int) -> tuple[int, int]:
        """1-based line and column (in code points) of a 0-based offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def value(self, path: KeyPath) -> ValueSpan | None:
        return self._values.get(tuple(path))

    def offset_of(self, path: KeyPath, *, key: bool = False) -> int:
        """Offset of a value (or its key) at `path`; the nearest located ancestor otherwise."""
        path = tuple(path)
        while path:
            if path in self._headers:
                return self._headers[path]
            span = self._values.get(path)
            if span is not None:
                return span.key_start if key and span.key_start is not None else span.start
            path = path[:-1]
        return 0

    def string_offset(self, path: KeyPath, index: int) -> int:
        """Source offset of character `index` of the string value at `path`.

        `index` may equal the value's length (an error "at the end" of a rule) and then points
        at the closing quote. Falls back to the value's start if the value is not a string.
        """
        span = self._values.get(tuple(path))
        if span is None or span.string is None:
            return self.offset_of(path)
        offsets = _character_offsets(self.text, span.string)
        return offsets[max(0, min(index, len(offsets) - 1))]

    def string_length(self, path: KeyPath) -> int | None:
        """Number of characters the string at `path` decodes to (a self-check for callers)."""
        span = self._values.get(tuple(path))
        if span is None or span.string is None:
            return None
        return len(_character_offsets(self.text, span.string)) - 1


def _character_offsets(text: str, string: StringValue) -> list[int]:
    """For each decoded character, the offset of the source text that produced it, plus one
    final entry for the closing delimiter."""
    if string.kind in ("literal", "ml_literal"):
        return list(range(string.start, string.end + 1))
    offsets: list[int] = []
    i = string.start
    while i < string.end:
        if text[i] != "\\":
            offsets.append(i)
            i += 1
            continue
        escape = text[i + 1]
        if escape in _SIMPLE_ESCAPES:
            offsets.append(i)
            i += 2
        elif escape in _HEX_ESCAPE_LENGTH:
            offsets.append(i)
            i += _HEX_ESCAPE_LENGTH[escape]
        else:
            # A line-ending backslash in a multi-line basic string: it and all whitespace and
            # newlines after it vanish from the value.
            i += 1
            while i < string.end and text[i] in " \t\n":
                i += 1
    offsets.append(string.end)
    return offsets


class _Scanner:
    """A recursive-descent walk over valid TOML that records positions in a SourceMap."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.text = source.text
        self.i = 0

    def run(self) -> None:
        table: KeyPath = ()
        while True:
            self._skip_blank(newlines=True)
            if self.i >= len(self.text):
                return
            if self.text[self.i] == "[":
                table = self._header()
            else:
                self._key_value(table)

    def _header(self) -> KeyPath:
        start = self.i
        array = self.text.startswith("[[", self.i)
        self.i += 2 if array else 1
        keys = self._dotted_key()
        self.i += 2 if array else 1
        path: KeyPath = ()
        for n, key in enumerate(keys):
            path += (key,)
            counters = self.source._table_arrays
            if array and n == len(keys) - 1:
                index = counters.get(path, 0)
                counters[path] = index + 1
                path += (index,)
            elif path in counters:
                path += (counters[path] - 1,)
        self.source._headers.setdefault(path, start)
        return path

    def _key_value(self, table: KeyPath) -> None:
        key_start = self.i
        keys = self._dotted_key()
        self._skip_blank()
        self.i += 1  # "="
        self._skip_blank()
        self._value(table + tuple(keys), key_start)

    def _dotted_key(self) -> list[str]:
        keys: list[str] = []
        while True:
            self._skip_blank()
            keys.append(self._key())
            self._skip_blank()
            if self.text[self.i] != ".":
                return keys
            self.i += 1

    def _key(self) -> str:
        c = self.text[self.i]
        if c in "\"'":
            string = self._string()
            raw = self.text[string.start : string.end]
            return _decode_basic_key(raw) if c == '"' else raw
        start = self.i
        while self.text[self.i] in _BARE_KEY:
            self.i += 1
        if self.i == start:
            raise ValueError(f"no key at offset {start}")
        return self.text[start : self.i]

    def _value(self, path: KeyPath, key_start: int | None) -> None:
        start = self.i
        c = self.text[start]
        if c in "\"'":
            self.source._values[path] = ValueSpan(key_start, start, self._string())
        elif c == "[":
            self.source._values[path] = ValueSpan(key_start, start)
            self._array(path)
        elif c == "{":
            self.source._values[path] = ValueSpan(key_start, start)
            self._inline_table(path)
        else:
            while self.i < len(self.text) and self.text[self.i] not in _SCALAR_END:
                self.i += 1
            self.source._values[path] = ValueSpan(key_start, start)

    def _array(self, path: KeyPath) -> None:
        self.i += 1
        index = 0
        while True:
            self._skip_blank(newlines=True)
            if self.text[self.i] == "]":
                self.i += 1
                return
            self._value((*path, index), None)
            index += 1
            self._skip_blank(newlines=True)
            if self.text[self.i] == ",":
                self.i += 1

    def _inline_table(self, path: KeyPath) -> None:
        self.i += 1
        while True:
            self._skip_blank(newlines=True)
            if self.text[self.i] == "}":
                self.i += 1
                return
            if self.text[self.i] == ",":
                self.i += 1
                continue
            self._key_value(path)

    def _string(self) -> StringValue:
        text = self.text
        quote = text[self.i]
        basic = quote == '"'
        if text.startswith(quote * 3, self.i):
            self.i += 3
            if text.startswith("\n", self.i):
                self.i += 1
            start = self.i
            while True:
                if basic and text[self.i] == "\\":
                    self.i += 2
                    continue
                if text.startswith(quote * 3, self.i):
                    # Up to two quotes right before the closing delimiter belong to the value.
                    run = 3
                    while run < 5 and self.i + run < len(text) and text[self.i + run] == quote:
                        run += 1
                    end = self.i + run - 3
                    self.i += run
                    return StringValue("ml_basic" if basic else "ml_literal", start, end)
                self.i += 1
        self.i += 1
        start = self.i
        while text[self.i] != quote:
            self.i += 2 if basic and text[self.i] == "\\" else 1
        self.i += 1
        return StringValue("basic" if basic else "literal", start, self.i - 1)

    def _skip_blank(self, *, newlines: bool = False) -> None:
        text = self.text
        blank = " \t\n" if newlines else " \t"
        while self.i < len(text):
            c = text[self.i]
            if c in blank:
                self.i += 1
            elif c == "#":
                end = text.find("\n", self.i)
                self.i = len(text) if end < 0 else end
                if not newlines:
                    return
            else:
                return


def _decode_basic_key(raw: str) -> str:
    """A quoted key's name (keys rarely hold escapes; tomllib has validated them)."""
    if "\\" not in raw:
        return raw
    return tomllib.loads(f'k = "{raw}"')["k"]

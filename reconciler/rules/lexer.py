"""Turns rule text into tokens, quote-aware, with the offset of each token for error carets."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .errors import RuleError


class Tok(Enum):
    LPAREN = "("
    RPAREN = ")"
    LBRACKET = "["
    RBRACKET = "]"
    COMMA = ","
    STRING = "string"
    NUMBER = "number"
    WORD = "word"  # property paths, keywords, hyphen-less operators, date literals
    OPERATOR = "operator"  # a word written with a leading hyphen
    NULL = "null"  # $null (bare `null` is a WORD the parser recognises)
    EOF = "end of rule"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Tok
    text: str  # the value: unescaped for strings, as written otherwise
    start: int
    end: int
    spaced_before: bool  # whitespace (or the start of the rule) precedes it


# rule-language.md §13.7: an en dash is accepted as a hyphen (documented examples use it).
HYPHENS = frozenset("-\u2013")
TYPOGRAPHIC_QUOTES = frozenset("\u201c\u201d\u201e\u2018\u2019\u201a\u00ab\u00bb")
_PUNCTUATION = {"(": Tok.LPAREN, ")": Tok.RPAREN, "[": Tok.LBRACKET, "]": Tok.RBRACKET}
_PUNCTUATION[","] = Tok.COMMA
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
# Date literals (2020-06-10T18:13:20Z, 2020-06-10T18:13:20.5+02:00) continue through these.
_DATE_CHARS = _WORD_CHARS | frozenset(":+-")
_ASCII_DIGITS = frozenset("0123456789")


def tokenize(text: str) -> list[Token]:
    """Split a rule into tokens; operator words are only recognised outside quotes."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    spaced = True
    while i < n:
        ch = text[i]
        if ch.isspace():
            spaced = True
            i += 1
            continue
        start = i
        if ch in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[ch], ch, i, i + 1, spaced))
            i += 1
        elif ch == '"':
            value, i = _double_quoted(text, i)
            tokens.append(Token(Tok.STRING, value, start, i, spaced))
        elif ch == "'":
            value, i = _single_quoted(text, i)
            tokens.append(Token(Tok.STRING, value, start, i, spaced))
        elif ch in TYPOGRAPHIC_QUOTES:
            raise RuleError(
                "QueryCompilationError",
                f'typographic quote {ch!r} is not a string delimiter; use straight quotes (")',
                i,
                text,
            )
        elif ch in HYPHENS and i + 1 < n and text[i + 1].isalpha():
            i += 1
            while i < n and text[i].isalpha():
                i += 1
            tokens.append(Token(Tok.OPERATOR, text[start + 1 : i], start, i, spaced))
        elif ch == "$" and text[i + 1 : i + 5].lower() == "null" and not _is_word(text, i + 5):
            i += 5
            tokens.append(Token(Tok.NULL, "$null", start, i, spaced))
        elif ch in _ASCII_DIGITS:  # not str.isdigit(): "³" is a digit that _DATE_CHARS lacks
            i = _scan(text, i, _DATE_CHARS)
            word = text[start:i]
            kind = Tok.NUMBER if word.isdigit() else Tok.WORD
            tokens.append(Token(kind, word, start, i, spaced))
        elif ch in _WORD_CHARS:
            i = _scan(text, i, _WORD_CHARS)
            tokens.append(Token(Tok.WORD, text[start:i], start, i, spaced))
        else:
            raise RuleError(
                "QueryCompilationError",
                f'unexpected character {ch!r}; values must be quoted, e.g. "..."',
                i,
                text,
            )
        spaced = False
    tokens.append(Token(Tok.EOF, "", n, n, True))
    return tokens


def _is_word(text: str, i: int) -> bool:
    return i < len(text) and text[i] in _WORD_CHARS


def _scan(text: str, i: int, allowed: frozenset[str]) -> int:
    while i < len(text) and text[i] in allowed:
        i += 1
    return i


def _double_quoted(text: str, start: int) -> tuple[str, int]:
    # rule-language.md §13.1 and INTERFACES.md: `" is an escaped quote; a backtick before
    # anything else is a literal backtick.
    out: list[str] = []
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "`" and i + 1 < n and text[i + 1] == '"':
            out.append('"')
            i += 2
        elif ch == '"':
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise RuleError(
        "QueryCompilationError",
        'unterminated string: add the closing " (write `" for a quote inside a value)',
        start,
        text,
    )


def _single_quoted(text: str, start: int) -> tuple[str, int]:
    # rule-language.md §2: a single quote inside '...' is written twice.
    out: list[str] = []
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "'":
            if i + 1 < n and text[i + 1] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise RuleError(
        "QueryCompilationError",
        "unterminated string: add the closing ' (write '' for a quote inside a value)",
        start,
        text,
    )

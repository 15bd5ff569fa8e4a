"""-match/-notMatch patterns: .NET-flavoured regular expressions with a time bound per call.

Entra never names its engine; the evidence points to .NET (rule-language.md §5). The `regex`
package reads the .NET spellings Python's `re` lacks (named groups `(?<n>...)`, `\\z`) and,
unlike `re`, takes a timeout, so a catastrophic pattern such as `(a+)+$` on a long value ends
in a RegexTimeout instead of stalling a worker. A linear-time engine (RE2) would remove the
need for a bound but rejects backreferences and lookarounds that .NET patterns use.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from .errors import RuleError

DEFAULT_TIMEOUT_SECONDS = 0.1


class Pattern:
    """A compiled, case-insensitive, unanchored pattern whose search is bounded in time.

    A bounded search costs ~1.5 µs even for a trivial pattern, so a plain substring test on
    the literal text every match must contain (`required`) answers most values first, and a
    pattern that is only literal text (`^Ana B`, `son$`) is answered by string tests when the
    value is ASCII too (`_Literal`).
    """

    __slots__ = ("_compiled", "_literal", "prefix", "required", "source", "timeout")

    def __init__(self, source: str, timeout: float) -> None:
        self.source = source
        self.timeout = timeout
        self._compiled = regex.compile(_dotnet_to_python(source), regex.IGNORECASE | regex.V0)
        self.prefix, self.required = _literals(source)
        self._literal = _Literal.of(source)

    def search(self, value: str) -> bool:
        if self.required and self.required not in value.casefold():
            return False
        if self._literal is not None and value.isascii():
            return self._literal.found_in(value.lower())
        try:
            return self._compiled.search(value, timeout=self.timeout) is not None
        except TimeoutError:
            raise RuleError(
                "RegexTimeout",
                f"-match pattern {self.source!r} took longer than {self.timeout * 1000:.0f} ms "
                f"on a value of {len(value)} characters; simplify the pattern "
                "(avoid nested quantifiers such as (a+)+)",
            ) from None


@dataclass(frozen=True, slots=True)
class _Literal:
    """A pattern that is literal text, optionally anchored: `^` (start) and `$` (end, or
    before a final newline, as in .NET and Python). On an ASCII value, matching ASCII
    literal characters case-insensitively is comparing lower-cased text, so string tests
    give the regex's answer without its per-call cost."""

    text: str  # lower-case
    at_start: bool
    at_end: bool

    @classmethod
    def of(cls, source: str) -> _Literal | None:
        at_start = source.startswith("^")
        body = source[1:] if at_start else source
        at_end = body.endswith("$")
        body = body[:-1] if at_end else body
        if not body or not all(ch in _LITERAL for ch in body):
            return None
        return cls(body.lower(), at_start, at_end)

    def found_in(self, lowered: str) -> bool:
        if self.at_end:
            endings = (self.text, self.text + "\n")
            if self.at_start:
                return lowered in endings
            return lowered.endswith(endings)
        if self.at_start:
            return lowered.startswith(self.text)
        return self.text in lowered


def compile_pattern(source: str, position: int, rule: str, timeout: float) -> Pattern:
    """Compile at validation time so a bad pattern is a QueryCompilationError, as in Entra."""
    try:
        return Pattern(source, timeout)
    except regex.error as exc:
        pos, msg = exc.pos, exc.msg  # type: ignore[attr-defined]  # regex sets both; types-regex omits them
        where = position + 1 + (pos or 0)
        raise RuleError(
            "QueryCompilationError",
            f"invalid regular expression {source!r}: {msg}; for 'any text' write .* "
            'rather than * (e.g. ".*@domain.ext" or "@domain.ext$")',
            where,
            rule,
        ) from None


def _dotnet_to_python(source: str) -> str:
    # .NET's \Z also matches before a final newline; Python's \Z does not. \z is the same in both.
    out: list[str] = []
    i = 0
    while i < len(source):
        if source[i] == "\\" and i + 1 < len(source):
            pair = source[i : i + 2]
            out.append(r"(?=\n?\z)" if pair == r"\Z" else pair)
            i += 2
        else:
            out.append(source[i])
            i += 1
    return "".join(out)


# Characters that stand for themselves outside a character class (no verbose mode).
_LITERAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 @_:,/=-")
_QUANTIFIERS = frozenset("?*{")


def _literals(source: str) -> tuple[str, str]:
    """(prefix, required): case-folded literal text that a match must start with (for a
    pattern anchored with ^) and must contain somewhere; '' where unsure.

    Conservative by construction: any alternation, inline option or escaped letter gives up.
    Each literal ASCII character matches only characters whose case folding is that single
    character, so the case-folded value contains the folded literal whenever the pattern
    matches (the RuleSet property test checks this against brute force).
    """
    if "|" in source or "(?" in source:
        return "", ""
    runs: list[tuple[int, str]] = []
    depth, in_class, run_start, i = 0, False, -1, 0
    chars = list(source)
    while i <= len(chars):
        ch = chars[i] if i < len(chars) else ""
        literal = not in_class and depth == 0 and ch in _LITERAL and ch != ""
        if not literal and run_start >= 0:
            run = source[run_start:i]
            if ch in _QUANTIFIERS:
                run = run[:-1]  # the last character is optional or repeated
            runs.append((run_start, run))
            run_start = -1
        if literal and run_start < 0:
            run_start = i
        if ch == "\\":
            if i + 1 < len(chars) and chars[i + 1].isalnum():
                return "", ""
            i += 2
            continue
        if ch == "{" and not in_class:
            close = source.find("}", i)
            if close < 0:
                return "", ""
            i = close + 1  # a {m,n} quantifier's digits are not literal text
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        i += 1
    prefix = next((run for start, run in runs if start == 1), "") if source[:1] == "^" else ""
    required = max((run for _, run in runs), key=len, default="")
    return prefix.casefold(), required.casefold()

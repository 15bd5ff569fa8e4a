"""-match/-notMatch patterns: .NET-flavoured regular expressions with a time bound per call.

Entra never names its engine; the evidence points to .NET (rule-language.md §5). The `regex`
package reads the .NET spellings Python's `re` lacks (named groups `(?<n>...)`, `\\z`) and,
unlike `re`, takes a timeout, so a catastrophic pattern such as `(a+)+$` on a long value ends
in a RegexTimeout instead of stalling a worker. A linear-time engine (RE2) would remove the
need for a bound but rejects backreferences and lookarounds that .NET patterns use.
"""

from __future__ import annotations

import regex

from .errors import RuleError

DEFAULT_TIMEOUT_SECONDS = 0.1


class Pattern:
    """A compiled, case-insensitive, unanchored pattern whose search is bounded in time."""

    __slots__ = ("_compiled", "source", "timeout")

    def __init__(self, source: str, timeout: float) -> None:
        self.source = source
        self.timeout = timeout
        self._compiled = regex.compile(_dotnet_to_python(source), regex.IGNORECASE | regex.V0)

    def search(self, value: str) -> bool:
        try:
            return self._compiled.search(value, timeout=self.timeout) is not None
        except TimeoutError:
            raise RuleError(
                "RegexTimeout",
                f"-match pattern {self.source!r} took longer than {self.timeout * 1000:.0f} ms "
                f"on a value of {len(value)} characters; simplify the pattern "
                "(avoid nested quantifiers such as (a+)+)",
            ) from None


def compile_pattern(source: str, position: int, rule: str, timeout: float) -> Pattern:
    """Compile at validation time so a bad pattern is a QueryCompilationError, as in Entra."""
    try:
        return Pattern(source, timeout)
    except regex.error as exc:
        where = position + 1 + (exc.pos or 0)
        raise RuleError(
            "QueryCompilationError",
            f"invalid regular expression {source!r}: {exc.msg}; for 'any text' write .* "
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

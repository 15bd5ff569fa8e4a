"""The one error type of the rule language: what went wrong, where, and how to fix it."""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal[
    "AttributeNotSupported",
    "OperatorNotSupportedOnAttribute",
    "QueryCompilationError",
    "InvalidObjectType",
    "RuleTooLong",
    "UnsupportedCombination",
    "RegexTimeout",
    "AttributeTypeMismatch",
]


class RuleError(ValueError):
    """A rule Entra would reject, or a user it could not decide (a regex out of time, a value
    of the wrong type), with a caret under the fault.

    `kind` mirrors Entra's validation categories so admins recognise them; `position` is a
    0-based offset in code points (0 for whole-rule errors such as length). `hint`, when the
    parser knows the likely fix, replaces the general hint for the kind.
    """

    def __init__(
        self, kind: ErrorKind, message: str, position: int = 0, rule: str = "", hint: str = ""
    ) -> None:
        self.kind = kind
        self.message = message
        self.position = position
        self.rule = rule
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        text = f"{self.kind}: {self.message} (at offset {self.position})"
        if not self.rule:
            return text
        line_start = self.rule.rfind("\n", 0, self.position) + 1
        line_end = self.rule.find("\n", self.position)
        line = self.rule[line_start : None if line_end < 0 else line_end]
        caret = " " * (self.position - line_start) + "^"
        return f"{text}\n  {line}\n  {caret}"

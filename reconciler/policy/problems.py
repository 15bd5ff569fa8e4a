"""A problem found in a rules file: what is wrong, where (file:line:column), and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a file; line and column are 1-based, column counted in characters.

    Line 0 means the file as a whole (it could not be read at all).
    """

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. Errors stop a group from being reconciled; warnings do not."""

    location: Location
    message: str
    hint: str = ""
    severity: Severity = "error"
    group_id: str | None = None
    group_name: str | None = None

    @property
    def file(self) -> str:
        return self.location.file

    @property
    def line(self) -> int:
        return self.location.line

    @property
    def column(self) -> int:
        return self.location.column

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        label = "warning: " if self.severity == "warning" else ""
        text = f"{self.location}: {label}{self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "groupId": self.group_id,
            "groupName": self.group_name,
            "message": self.message,
            "hint": self.hint,
        }

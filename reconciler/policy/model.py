"""The managed groups a rules file describes, as frozen values the rest of the app consumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reconciler.policy.problems import Location, Problem

if TYPE_CHECKING:
    from reconciler.rules import Rule


@dataclass(frozen=True, slots=True)
class RuleExample:
    """A user and the result the group's rule must give for them, tested by `check`.

    `source` is "inline" or the user_file path as written; `now` pins `system.now` so
    date rules give the same answer on every day.
    """

    user: dict[str, Any]
    expect: bool
    location: Location
    name: str | None = None
    source: str = "inline"
    now: datetime | None = None

    @property
    def label(self) -> str:
        return self.name or (self.source if self.source != "inline" else "inline user")


@dataclass(frozen=True, slots=True)
class ManagedGroup:
    """One `[[groups]]` entry. `rule` is None when the rule text does not compile.

    Ids (group, include, exclude) are lower-cased GUIDs (`id` is "" when missing or invalid).
    `exclude` wins over `include`: an id in both is only in `exclude`. `problems` holds the
    findings about the group itself; a group with any error there (`ok` is False) must not be
    reconciled, since a half-understood entry could remove people. `example_problems` (a missing
    or bad example) fail `check` but do not stop reconciliation.
    """

    id: str
    name: str | None
    rule_text: str
    rule: Rule | None
    location: Location
    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    paused: bool = False
    max_removal_percent: float | None = None
    examples: tuple[RuleExample, ...] = ()
    problems: tuple[Problem, ...] = ()
    example_problems: tuple[Problem, ...] = ()

    @property
    def display_name(self) -> str:
        return self.name or self.id or f"group at {self.location}"

    @property
    def ok(self) -> bool:
        return self.rule is not None and not any(p.is_error for p in self.problems)


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything one rules file says: the groups in file order and every problem found.
    `duplicates` are the later entries that repeat a group's id: never reconciled, but they
    count among the file's groups when it is checked."""

    file: str
    groups: tuple[ManagedGroup, ...]
    problems: tuple[Problem, ...]
    duplicates: tuple[ManagedGroup, ...] = ()

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def usable_groups(self) -> tuple[ManagedGroup, ...]:
        """The groups that may be reconciled: no errors of their own, rule compiled."""
        return tuple(g for g in self.groups if g.ok)

    def group(self, group_id: str) -> ManagedGroup | None:
        """The group with this object id (any case), or None."""
        wanted = group_id.strip().lower()
        return next((g for g in self.groups if g.id == wanted), None)

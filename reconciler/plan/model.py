"""The planner's results: membership changes with reasons, and one plan per managed group."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from reconciler.plan.guard import GuardVerdict

Action = Literal["add", "remove"]
Fault = Literal["directory", "state"]
"""A passing cause behind a plan's errors, so the same job may succeed later: a directory
read or write failed, or the state store (budget, holds) could not be reached. Errors
without a fault (a refused group, a broken rule, an undecided user) fail the same way again."""


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """One user to add to or remove from one group, and why (include/exclude or the rule)."""

    group_id: str
    user_id: str
    action: Action
    reason: str


@dataclass(frozen=True, slots=True)
class UndecidedUser:
    """A user the group's rule could not decide (a regex timeout or a mistyped value): no
    change, one error."""

    group_id: str
    user_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """What one run wants to do to one managed group.

    `members` is the number of current direct members (users and others), None when unknown
    (the incremental path reads no member lists). `unlisted_members` are member users the full
    listing did not return: left alone, since acting on them would be acting on partial
    knowledge. `errors` are texts for people about the group (a group that could not be read
    gets no changes); `undecided` are users left as they are because the rule could not decide.
    `deferred` are removals this run does not write: in the pending hold `hold_id` (over the
    removal budget, or the guard held the group), or withheld because the budget could not be
    read (then `hold_id` is ""). `faults` say which errors are passing ones: whoever runs the
    job decides on a retry from them, never from the texts.
    """

    group_id: str
    name: str
    paused: bool
    guard: GuardVerdict
    adds: tuple[MembershipChange, ...] = ()
    removes: tuple[MembershipChange, ...] = ()
    non_user_members: tuple[str, ...] = ()
    unlisted_members: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    undecided: tuple[UndecidedUser, ...] = ()
    members: int | None = None
    deferred: tuple[MembershipChange, ...] = ()
    hold_id: str = ""
    faults: frozenset[Fault] = frozenset()

    @property
    def held(self) -> bool:
        return self.guard.held

    @property
    def changes(self) -> tuple[MembershipChange, ...]:
        return self.adds + self.removes

    @property
    def error_texts(self) -> tuple[str, ...]:
        return self.errors + tuple(f"user {u.user_id}: {u.reason}" for u in self.undecided)

    def defer_removals(self, allowed: int, held_users: frozenset[str] = frozenset()) -> GroupPlan:
        """Keep the first `allowed` removals (in user id order) of users not already held;
        the others are deferred to the group's pending hold, never written by this run."""
        free = [c for c in self.removes if c.user_id not in held_users]
        going = set(free[: max(0, allowed)])
        kept = tuple(c for c in self.removes if c in going)
        deferred = tuple(c for c in self.removes if c not in going)
        return replace(self, removes=kept, deferred=self.deferred + deferred)

    def withhold_removals(self, error: str) -> GroupPlan:
        """No removal at all this run (the budget could not be checked), adds still go; the
        error makes the run retryable, so the removals come back with the retry."""
        return replace(
            self.with_error(error, "state"), removes=(), deferred=self.deferred + self.removes
        )

    def with_error(self, error: str, fault: Fault | None = None) -> GroupPlan:
        """The plan with one more error for people, and its fault when a retry may help."""
        faults = self.faults | {fault} if fault else self.faults
        return replace(self, errors=(*self.errors, error), faults=faults)

    @property
    def writable(self) -> bool:
        """Whether this plan may be written: not paused, not held (a hold stops adds too)."""
        return not self.paused and not self.guard.held


def blocked_plan(
    group_id: str, name: str, paused: bool, error: str, fault: Fault | None = None
) -> GroupPlan:
    """A group that cannot be planned this run (not readable, refused, broken rule)."""
    return GroupPlan(group_id, name, paused, GuardVerdict.clear()).with_error(error, fault)

"""The rule tester: one pasted rule over the whole tenant (the full run's paged listing),
with the count, sample matches and non-matches explained clause by clause, and what the rule
would change in a managed group ("would join" / "would leave"), before anyone saves it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from reconciler.console.names import Names, read_names
from reconciler.directory import Directory
from reconciler.plan import Decision, decide, invert_members, member_of_sources, reason_for
from reconciler.plan.planner import with_member_of
from reconciler.policy import ManagedGroup
from reconciler.rules import Explanation, Rule, RuleError


@dataclass(frozen=True, slots=True)
class UserResult:
    id: str
    name: str
    upn: str
    explanation: Explanation | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Change:
    """How many users the rule would move one way, and the first few of them."""

    count: int = 0
    users: tuple[UserResult, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleTest:
    rule: str
    users: int
    matched: int
    undecided: int
    matches: tuple[UserResult, ...]
    non_matches: tuple[UserResult, ...]
    undecided_users: tuple[UserResult, ...]
    seconds: float
    group: ManagedGroup | None = None
    members: int = 0
    join: Change = field(default_factory=Change)
    leave: Change = field(default_factory=Change)
    unlisted: tuple[str, ...] = ()  # member users the listing did not return


class _Collector:
    """Counts one direction of change and keeps the first `limit` users with their reason."""

    def __init__(self, limit: int, now: datetime | None) -> None:
        self.limit, self.now = limit, now
        self.count = 0
        self.users: list[UserResult] = []

    def add(self, user: dict, decision: Decision, group: ManagedGroup) -> None:
        self.count += 1
        if len(self.users) < self.limit:
            reason = reason_for(decision, group, user, self.now)
            self.users.append(_result(user, None, reason))


async def try_rule(
    directory: Directory,
    rule: Rule,
    group: ManagedGroup | None = None,
    *,
    samples: int = 5,
    listed: int = 50,
    now: datetime | None = None,
) -> RuleTest:
    """Evaluate `rule` for every user; with `group`, diff the result (after its include and
    exclude lists, as the planner decides) against the group's current user members.
    Raises DirectoryError when a page or member list cannot be read: a partial listing
    must not look like an answer."""
    started = time.perf_counter()
    current: set[str] = set()
    if group is not None:
        # Reasons name the clauses of the rule under test, not of the one in the file.
        group = replace(group, rule=rule, rule_text=rule.text)
        current = {m.id for m in await directory.members(group.id) if m.is_user}
    tally = _Tally(rule, group, current, await _member_of(directory, rule), samples, listed, now)
    # Only what the rule reads: names come afterwards for the users shown (read_names), a
    # third less to transfer over 100k users.
    async for page in directory.user_pages(rule.select, manager=rule.needs_manager):
        for user in page:
            tally.see(user)
    found, join, leave = tally.found, tally.join, tally.leave
    shown = [*found[True], *found[False], *found[None], *join.users, *leave.users]
    named = await read_names(directory, [u.id for u in shown])
    return RuleTest(
        rule=rule.text,
        users=tally.users,
        matched=tally.counts[True],
        undecided=tally.counts[None],
        matches=_named(found[True], named),
        non_matches=_named(found[False], named),
        undecided_users=_named(found[None], named),
        seconds=time.perf_counter() - started,
        group=group,
        members=len(current),
        join=Change(join.count, _named(join.users, named)),
        leave=Change(leave.count, _named(leave.users, named)),
        unlisted=tuple(sorted(tally.current)),
    )


class _Tally:
    """One pass over the listing: counts by verdict, the first samples of each with their
    explanation, and (with a group) who would join or leave; `current` shrinks to the
    members the listing never returned."""

    def __init__(
        self,
        rule: Rule,
        group: ManagedGroup | None,
        current: set[str],
        member_of: Mapping[str, set[str]] | None,
        samples: int,
        listed: int,
        now: datetime | None,
    ) -> None:
        self.rule, self.group, self.now = rule, group, now
        self.current = set(current)
        self.member_of = member_of
        self.samples = samples
        self.users = 0
        self.counts: dict[bool | None, int] = {True: 0, False: 0, None: 0}
        self.found: dict[bool | None, list[UserResult]] = {True: [], False: [], None: []}
        self.join = _Collector(listed, now)
        self.leave = _Collector(listed, now)

    def see(self, user: dict) -> None:
        user_id = str(user.get("id", ""))  # the adapter normalised it
        if not user_id:
            return
        self.users += 1
        if self.member_of is not None:
            user = with_member_of(user, self.member_of.get(user_id, ()))
        error: RuleError | None = None
        try:
            matched: bool | None = self.rule.matches(user, self.now)
        except RuleError as caught:
            matched, error = None, caught
        self.counts[matched] += 1
        if len(self.found[matched]) < self.samples:
            self.found[matched].append(_result(user, self.rule.explain(user, self.now)))
        if self.group is None:
            return
        decision = decide(self.group, user_id, matched is True, error)
        member = user_id in self.current
        self.current.discard(user_id)
        if decision.member is True and not member:
            self.join.add(user, decision, self.group)
        elif decision.member is False and member:
            self.leave.add(user, decision, self.group)


async def _member_of(directory: Directory, rule: Rule) -> Mapping[str, set[str]] | None:
    """user id -> the rule's memberOf groups the user is in, from those groups' member lists
    (as the full run reads them: a few lists, not one call per user)."""
    sources = member_of_sources([rule])
    if not sources:
        return None
    lists = {source: await directory.members(source) for source in sorted(sources)}
    memberships, _, _ = invert_members(lists)
    return memberships


def _named(users: list[UserResult], named: Names) -> tuple[UserResult, ...]:
    return tuple(
        replace(user, name=name, upn=upn) if (name, upn) != ("", "") else user
        for user in users
        for name, upn in [named.get(user.id.lower(), ("", ""))]
    )


def _result(user: dict, explanation: Explanation | None, reason: str = "") -> UserResult:
    return UserResult(
        id=str(user.get("id", "")),
        name=str(user.get("displayName") or ""),
        upn=str(user.get("userPrincipalName") or ""),
        explanation=explanation,
        reason=reason,
    )

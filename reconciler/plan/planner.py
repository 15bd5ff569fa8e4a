"""The fold over users: desired membership vs. current, per group, one user at a time.

Memory grows with the current memberships and the changes, never with users x groups: a user
is compared only with the groups the user matches, is undecided for, is listed in, or is
already a member of. Reasons are interned: the users a rule adds for the same values get the
same text, and one string for them all saves ~35 MiB of a 215k-add plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from sys import intern

from reconciler.directory import Member
from reconciler.plan.decide import decide, reason_for
from reconciler.plan.guard import GuardLimits, judge
from reconciler.plan.model import GroupPlan, MembershipChange, UndecidedUser
from reconciler.policy import ManagedGroup
from reconciler.rules import Rule, RuleSet
from reconciler.rules.nodes import MemberOf, clauses

_GROUP_TYPE = "#microsoft.graph.group"


def invert_members(
    members: Mapping[str, Sequence[Member]],
) -> tuple[dict[str, set[str]], dict[str, tuple[str, ...]], dict[str, int]]:
    """Group -> members as (user id -> group ids, group -> non-user member ids, group -> count
    of all direct members). Ids arrive normalised from the directory (object_id.py)."""
    memberships: dict[str, set[str]] = {}
    others: dict[str, tuple[str, ...]] = {}
    counts: dict[str, int] = {}
    for group_id, group_members in members.items():
        counts[group_id] = len(group_members)
        non_users = []
        for member in group_members:
            if member.is_user:
                memberships.setdefault(member.id, set()).add(group_id)
            else:
                non_users.append(member.id)
        others[group_id] = tuple(sorted(non_users))
    return memberships, others, counts


def member_of_sources(rules: Iterable[Rule]) -> frozenset[str]:
    """The group ids that memberOf rules name (case-folded): their members give each user's
    memberOf, so the full run reads a few member lists instead of one call per user."""
    return frozenset(
        group_id
        for rule in rules
        if rule.needs_member_of
        for clause in clauses(rule.tree)
        if isinstance(clause, MemberOf)
        for group_id in clause.group_ids
    )


def with_member_of(user: dict, group_ids: Iterable[str]) -> dict:
    """The user with `memberOf` as Graph gives it, built from the source groups' member
    lists (see member_of_sources) rather than one memberOf call per user."""
    return {**user, "memberOf": [{"@odata.type": _GROUP_TYPE, "id": g} for g in group_ids]}


class Planner:
    """Feed it every user (`see`), then `finish` for one GroupPlan per group.

    `memberships` (user id -> ids of the planned groups the user is a direct member of) is
    consumed: a user's entry is dropped once seen, so with `listing_complete` what is left at
    the end are member users the listing never returned. `member_of` (user id -> source group
    ids) fills `memberOf` for memberOf rules when the users come without it.
    """

    def __init__(
        self,
        groups: Sequence[ManagedGroup],
        ruleset: RuleSet,
        memberships: dict[str, set[str]],
        *,
        listing_complete: bool,
        member_of: Mapping[str, Iterable[str]] | None = None,
        now: datetime | None = None,
    ) -> None:
        self.groups = {g.id: g for g in groups}
        self.ruleset = ruleset
        self.listing_complete = listing_complete
        self.now = now
        self.users_seen = 0
        self._memberships = memberships
        # Only memberOf rules read it: without one, copying every user to add it is waste.
        reads_member_of = ruleset.needs_member_of or any(
            g.rule is not None and g.rule.needs_member_of for g in groups
        )
        self._member_of = member_of if reads_member_of else None
        self._listed: dict[str, list[str]] = {}
        for group in groups:
            for user_id in group.include | group.exclude:
                self._listed.setdefault(user_id, []).append(group.id)
        self._adds: dict[str, list[MembershipChange]] = {g.id: [] for g in groups}
        self._removes: dict[str, list[MembershipChange]] = {g.id: [] for g in groups}
        self._undecided: dict[str, list[UndecidedUser]] = {g.id: [] for g in groups}

    def see(self, user: dict) -> None:
        user_id = str(user.get("id", ""))  # normalised by the directory (object_id.py)
        if not user_id:
            return
        self.users_seen += 1
        if self._member_of is not None:
            user = with_member_of(user, self._member_of.get(user_id, ()))
        current = self._memberships.pop(user_id, set())
        evaluation = self.ruleset.evaluate(user, self.now)
        candidates = evaluation.matched | evaluation.undecided.keys() | current
        candidates.update(self._listed.get(user_id, ()))
        for group_id in candidates:
            group = self.groups.get(group_id)
            if group is None:
                continue
            decision = decide(
                group, user_id, group_id in evaluation.matched, evaluation.undecided.get(group_id)
            )
            is_member = group_id in current
            if decision.member is None:
                reason = intern(reason_for(decision, group, user, self.now))
                self._undecided[group_id].append(UndecidedUser(group_id, user_id, reason))
            elif decision.member and not is_member:
                reason = intern(reason_for(decision, group, user, self.now))
                self._adds[group_id].append(MembershipChange(group_id, user_id, "add", reason))
            elif not decision.member and is_member:
                reason = intern(reason_for(decision, group, user, self.now))
                self._removes[group_id].append(
                    MembershipChange(group_id, user_id, "remove", reason)
                )

    def removal_counts(self) -> dict[str, int]:
        return {group_id: len(changes) for group_id, changes in self._removes.items()}

    def finish(
        self,
        limits: GuardLimits,
        *,
        users_listed: int | None = None,
        member_counts: Mapping[str, int] | None = None,
        non_user_members: Mapping[str, tuple[str, ...]] | None = None,
    ) -> tuple[GroupPlan, ...]:
        """One plan per group, in the order given; `users_listed` (full runs only) is checked
        against MIN_EXPECTED_USERS."""
        member_counts = member_counts or {}
        non_user_members = non_user_members or {}
        unlisted: dict[str, list[str]] = {group_id: [] for group_id in self.groups}
        if self.listing_complete:
            for user_id, group_ids in self._memberships.items():
                for group_id in group_ids:
                    if group_id in unlisted:
                        unlisted[group_id].append(user_id)
        plans = []
        for group_id, group in self.groups.items():
            adds = sorted(self._adds[group_id], key=lambda c: c.user_id)
            removes = sorted(self._removes[group_id], key=lambda c: c.user_id)
            members = member_counts.get(group_id)
            guard = judge(
                limits,
                removals=len(removes),
                members=members,
                group_percent=group.max_removal_percent,
                users_listed=users_listed,
            )
            plans.append(
                GroupPlan(
                    group_id=group_id,
                    name=group.display_name,
                    paused=group.paused,
                    guard=guard,
                    adds=tuple(adds),
                    removes=tuple(removes),
                    non_user_members=non_user_members.get(group_id, ()),
                    unlisted_members=tuple(sorted(unlisted[group_id])),
                    undecided=tuple(sorted(self._undecided[group_id], key=lambda u: u.user_id)),
                    members=members,
                )
            )
        return tuple(plans)

"""Which groups get no writes this run, and why: one pure judgement over what could be read.

Never act on partial knowledge (DESIGN.md principle 3): a group whose own state, memberOf
sources or users could not be read completely is blocked, with the directory as its fault so
the run is retried; a group Graph will not change, or whose rule is broken, is blocked for
good (a retry would fail the same way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.directory import GroupInfo
from reconciler.plan.model import Fault, GroupPlan, blocked_plan
from reconciler.plan.planner import member_of_sources
from reconciler.policy import ManagedGroup


@dataclass(frozen=True, slots=True)
class Block:
    """Why one group gets no writes; `fault` when a retry may help."""

    reason: str
    fault: Fault | None = None

    def plan(self, group: ManagedGroup) -> GroupPlan:
        return blocked_plan(group.id, group.display_name, group.paused, self.reason, self.fault)


@dataclass(slots=True)
class Reads:
    """What a run learnt reading the directory so far; each failed read as its error text.
    `infos` is None until the groups were looked up."""

    infos: Mapping[str, GroupInfo | None] | None = None
    infos_failed: str = ""
    members_failed: dict[str, str] = field(default_factory=dict)
    counts_failed: dict[str, str] = field(default_factory=dict)
    sources_failed: dict[str, str] = field(default_factory=dict)
    users_failed: str = ""
    listing_failed: str = ""


def unwritable(info: GroupInfo | None) -> str | None:
    """Why a group gets no writes, from what the directory says of it; None when it can."""
    if info is None:
        return "the group does not exist in the directory"
    if info.refusal:
        return f"Graph will not change this group's members: {info.refusal}"
    return None


def block(group: ManagedGroup, reads: Reads) -> Block | None:
    """The one reason a group is blocked (the first that applies), None when it is not. A
    group whose members could not be read is never looked up, so that read comes first."""
    if not group.ok:
        return Block("the rules file has errors for this group (run check); not reconciled")
    if reads.users_failed:
        return Block(f"could not read the users ({reads.users_failed}); no writes", "directory")
    if reads.infos_failed:
        return Block(f"could not read the group ({reads.infos_failed}); no writes", "directory")
    if group.id in reads.members_failed:
        error = reads.members_failed[group.id]
        return Block(f"could not read the group ({error}); no writes for this group", "directory")
    if group.id in reads.counts_failed:
        error = reads.counts_failed[group.id]
        return Block(f"could not read the group's member count ({error}); no writes", "directory")
    refusal = unwritable(reads.infos.get(group.id)) if reads.infos is not None else None
    if refusal:
        return Block(refusal)
    broken = (
        sorted(member_of_sources([group.rule]) & reads.sources_failed.keys()) if group.rule else []
    )
    if broken:
        detail = "; ".join(f"{s}: {reads.sources_failed[s]}" for s in broken)
        return Block(f"could not read the memberOf source group {detail}; no writes", "directory")
    if reads.listing_failed:
        return Block(
            f"could not read the user listing ({reads.listing_failed}); no writes for any group",
            "directory",
        )
    return None


def unblocked(groups: Sequence[ManagedGroup], reads: Reads) -> list[ManagedGroup]:
    return [g for g in groups if block(g, reads) is None]


def blocked_or(group: ManagedGroup, reads: Reads, plan: GroupPlan | None) -> GroupPlan:
    """The group's blocked plan when a read blocks it, else its own plan (which a group that
    was not blocked always has)."""
    blocked = block(group, reads)
    if blocked is not None:
        return blocked.plan(group)
    if plan is None:
        raise ValueError(f"group {group.id} is neither blocked nor planned")
    return plan

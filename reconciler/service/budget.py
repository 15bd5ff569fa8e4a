"""Spend the shared removal budget: read the windows, ask the pure `grant`, commit under
ETags, and on a conflict (another worker spent meanwhile) read and decide again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from reconciler.directory import Directory, DirectoryError
from reconciler.plan.budget import (
    BudgetGrant,
    BudgetLimits,
    BudgetWindow,
    grant,
    needs_member_count,
)
from reconciler.state import BudgetStore, StateConflict, StateUnavailable

CONFLICT_RETRIES = 50
"""Every lost round means another spend succeeded, so this only bounds a storm of workers."""

MemberCount = Callable[[str], Awaitable[int | None]]
"""A group's current member count, None when it cannot be read (the floor alone applies)."""


async def spend(
    store: BudgetStore,
    wanted: Mapping[str, int],
    limits: BudgetLimits,
    now: datetime,
    *,
    percents: Mapping[str, float | None],
    member_count: MemberCount,
    known_members: Mapping[str, int] | None = None,
) -> BudgetGrant:
    """Removals granted per group, already committed: two callers can never both spend the
    same budget (the commit is conditional on the ETags of the windows read). Raises
    StateUnavailable when the windows cannot be read or written."""
    wanted = {g: n for g, n in wanted.items() if n > 0}
    if not wanted:
        return BudgetGrant({})
    members: dict[str, int] = dict(known_members or {})
    for _ in range(CONFLICT_RETRIES):
        snapshot = await store.read_budget(list(wanted))
        for group_id, want in wanted.items():
            window = snapshot.windows.get(group_id, BudgetWindow())
            window = window.current(now, limits.window_minutes)
            if group_id not in members and needs_member_count(window, want):
                count = await member_count(group_id)
                if count is not None:
                    members[group_id] = count
        result = grant(
            wanted, snapshot.windows, limits, now, members_now=members, percents=percents
        )
        if not result.windows:
            return result
        try:
            await store.commit_budget(snapshot, result.windows)
        except StateConflict:
            continue
        return result
    raise StateUnavailable("the removal budget kept changing under other writers; retry later")


def member_counter(directory: Directory) -> MemberCount:
    """Counts members through the directory; a failed read gives None (the floor applies)."""

    async def count(group_id: str) -> int | None:
        try:
            return len(await directory.members(group_id))
        except DirectoryError:
            return None

    return count

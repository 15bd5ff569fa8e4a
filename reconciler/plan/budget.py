"""The removal budget: how many removals a group (and the tenant) may still take in its window.

Pure: the service reads the windows from the state store, asks `grant` what may go now, and
writes the updated windows back under ETags (a conflict means: read again and ask again).
Every path that removes (queue worker, sync-user, sync endpoints, full runs) spends from the
same windows, so chunked messages cannot walk around the guard that a single run obeys.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

TENANT = "tenant"
"""The key of the tenant-wide window beside the per-group ones."""


@dataclass(frozen=True, slots=True)
class BudgetLimits:
    """MAX_REMOVAL_PERCENT, REMOVAL_FLOOR, REMOVAL_WINDOW_MINUTES,
    MAX_TENANT_REMOVALS_PER_WINDOW (0: no tenant-wide limit)."""

    max_removal_percent: float = 20.0
    removal_floor: int = 10
    window_minutes: int = 60
    tenant_max: int = 500


@dataclass(frozen=True, slots=True)
class BudgetWindow:
    """Removals spent in the rolling window, counted per minute (minute since the epoch ->
    removals), and the member count when the window opened (None until a spend needed it)."""

    members_at_start: int | None = None
    spent: tuple[tuple[int, int], ...] = ()

    @property
    def used(self) -> int:
        return sum(count for _, count in self.spent)

    def current(self, now: datetime, minutes: int) -> BudgetWindow:
        """The window as of `now`: minutes older than the window drop out; once none is
        left the window is closed, and the next spend opens a new one on fresh numbers."""
        oldest = _minute(now) - minutes + 1
        live = tuple((m, c) for m, c in self.spent if m >= oldest and c > 0)
        return BudgetWindow(self.members_at_start, live) if live else BudgetWindow()

    def spend(self, removals: int, now: datetime) -> BudgetWindow:
        if removals <= 0:
            return self
        minute = _minute(now)
        counts = dict(self.spent)
        counts[minute] = counts.get(minute, 0) + removals
        return replace(self, spent=tuple(sorted(counts.items())))


@dataclass(frozen=True, slots=True)
class BudgetGrant:
    """What may be removed now per group, and the windows to write back (only changed ones)."""

    granted: Mapping[str, int]
    windows: Mapping[str, BudgetWindow] = field(default_factory=dict)


def group_allowance(window: BudgetWindow, percent: float, limits: BudgetLimits) -> int | None:
    """The group's budget for this window: its percent of the members at the window's start,
    and never less than REMOVAL_FLOOR. None when the member count is not known yet. A percent
    of 100 or more lifts the group's limit (`grant` then applies only the tenant's)."""
    if window.members_at_start is None:
        return None
    return max(limits.removal_floor, math.floor(window.members_at_start * percent / 100))


def needs_member_count(window: BudgetWindow, wanted: int) -> bool:
    """Whether `grant` needs the group's member count: when a spend opens the window (one
    Graph read per group and window, not per message). Read before this window's removals,
    it is exactly the count at the window's start, also when workers race: the first commit
    stores it and the others read it back on their retry."""
    return window.members_at_start is None and wanted > 0


def grant(
    wanted: Mapping[str, int],
    windows: Mapping[str, BudgetWindow],
    limits: BudgetLimits,
    now: datetime,
    *,
    members_now: Mapping[str, int] | None = None,
    percents: Mapping[str, float | None] | None = None,
) -> BudgetGrant:
    """Share out removals: per group at most what is left of its allowance, and all groups
    together at most what is left of the tenant's window. Groups go in id order, so two
    workers that read the same windows decide the same thing.

    `windows` are as stored (TENANT among them, missing ones are empty); `members_now` are
    current member counts for groups where `needs_member_count` said so. A group whose count
    could not be read gets only the floor; when a later spend reads it, the removals already
    spent in the window are added back (floor-sized at most, so close to the start count)."""
    members_now = members_now or {}
    percents = percents or {}
    tenant = windows.get(TENANT, BudgetWindow()).current(now, limits.window_minutes)
    tenant_left = limits.tenant_max - tenant.used if limits.tenant_max > 0 else math.inf
    granted: dict[str, int] = {}
    updated: dict[str, BudgetWindow] = {}
    for group_id in sorted(wanted):
        want = wanted[group_id]
        if want <= 0:
            continue
        window = windows.get(group_id, BudgetWindow()).current(now, limits.window_minutes)
        if window.members_at_start is None and group_id in members_now:
            window = replace(window, members_at_start=members_now[group_id] + window.used)
        percent = percents.get(group_id)
        percent = limits.max_removal_percent if percent is None else percent
        allowance = group_allowance(window, percent, limits)
        left: float = (limits.removal_floor if allowance is None else allowance) - window.used
        if percent >= 100:  # the group may lose everyone: churn is not capped, the tenant is
            left = math.inf
        take = int(max(0, min(want, left, tenant_left)))
        granted[group_id] = take
        tenant_left -= take
        if take:
            updated[group_id] = window.spend(take, now)
            tenant = tenant.spend(take, now)
    if updated:
        updated[TENANT] = tenant
    return BudgetGrant(granted, updated)


def _minute(moment: datetime) -> int:
    return math.floor(moment.timestamp() / 60)

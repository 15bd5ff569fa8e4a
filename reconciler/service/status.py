"""`status`: per managed group, what the state store knows, with lag against the schedule."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise

from reconciler.policy import ManagedGroup
from reconciler.state import GroupState, Hold

STALE_PERIODS = 2
"""A group not verified by a full run within two schedule periods is flagged."""


def schedule_period(expression: str) -> timedelta | None:
    """The interval of an NCRONTAB schedule of the usual repeating shapes (`0 */30 * * * *`,
    `0 0 */6 * * *`, `0 0,30 * * * *`, `0 15 2 * * *`); None for shapes without one fixed
    interval, which then are never flagged as late."""
    fields = expression.split()
    if len(fields) != 6:
        return None
    units = (timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1), timedelta(days=1))
    spans = (60, 60, 24)
    for index, unit in enumerate(units):
        field = fields[index]
        if field == "*":
            return unit
        step = re.fullmatch(r"(?:\*|0)/(\d+)", field)
        if step and int(step.group(1)) > 0:
            return unit * int(step.group(1))
        values = field.split(",")
        if len(values) > 1 and all(v.isdigit() for v in values) and index < len(spans):
            numbers = sorted(int(v) for v in values)
            gaps = [b - a for a, b in pairwise(numbers)]
            gaps.append(spans[index] - numbers[-1] + numbers[0])
            return unit * max(gaps)
        if not field.isdigit():
            return None
    return None  # a fixed day of the month or rarer


def group_status(
    groups: Sequence[ManagedGroup],
    states: Sequence[GroupState],
    pending: Sequence[Hold],
    now: datetime,
    period: timedelta | None,
) -> list[dict[str, object]]:
    """One entry per managed group (state rows of groups no longer managed are left out)."""
    by_id = {s.group_id: s for s in states}
    holds = {h.group_id: h for h in pending}
    entries: list[dict[str, object]] = []
    for group in groups:
        state = by_id.get(group.id, GroupState(group.id))
        hold = holds.get(group.id)
        lag = (now - state.last_full_at).total_seconds() if state.last_full_at else None
        stale = state.last_full_at is None or (
            period is not None and lag is not None and lag > STALE_PERIODS * period.total_seconds()
        )
        entries.append(
            {
                "id": group.id,
                "name": group.display_name,
                "members": state.members,
                "lastVerified": _iso(state.last_full_at),
                "lastResult": state.last_full_result or None,
                "lastCounts": dict(state.last_full_counts),
                "lastDurationSeconds": state.last_full_seconds,
                "lastCorrelationId": state.last_full_correlation_id or None,
                "lagSeconds": None if lag is None else round(lag, 1),
                "stale": stale,
                "lastChange": _iso(state.last_change_at),
                "pendingHold": hold.id if hold else None,
                "pendingHoldSize": len(hold.removals) if hold else 0,
                "lastError": state.last_error or None,
                "lastErrorAt": _iso(state.last_error_at),
            }
        )
    return entries


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None

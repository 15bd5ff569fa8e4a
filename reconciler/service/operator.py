"""What an operator reads, as the JSON documents the CLI (`--json`) and HTTP both answer."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.policy import Policy
from reconciler.service.status import group_status, schedule_period
from reconciler.settings import Settings
from reconciler.state import GroupStateStore, HoldStatus, HoldStore

HOLD_STATUSES: tuple[HoldStatus, ...] = ("pending", "approving", "approved", "rejected")


async def holds_document(state: HoldStore, status: str | None = None) -> dict[str, object]:
    """`{"holds": [...]}`, newest first, without the user lists (`hold_document` has them)."""
    if status is not None and status not in HOLD_STATUSES:
        raise ValueError(f"status must be one of {', '.join(HOLD_STATUSES)}, not {status!r}")
    holds = await state.holds(status)
    return {"holds": [hold.to_json(users=False) for hold in holds]}


async def hold_document(state: HoldStore, hold_id: str) -> dict[str, object]:
    return (await state.hold(hold_id)).to_json()


async def status_document(
    state: GroupStateStore,
    holds: HoldStore,
    policy: Policy,
    settings: Settings,
    now: datetime | None = None,
) -> dict[str, object]:
    """Per managed group: members, last verified, lag (stale past two schedule periods), last
    change, pending hold size, last error."""
    now = now or datetime.now(UTC)
    period = schedule_period(settings.full_reconcile_schedule)
    groups = group_status(
        [g for g in policy.groups if g.id],
        await state.group_states(),
        await holds.holds("pending"),
        now,
        period,
    )
    return {
        "now": now.isoformat(),
        "schedule": settings.full_reconcile_schedule,
        "periodSeconds": period.total_seconds() if period else None,
        "groups": groups,
        "stale": sum(bool(g["stale"]) for g in groups),
        "pendingHolds": sum(bool(g["pendingHold"]) for g in groups),
    }

"""What the state store keeps: holds, per-group state, change history, budget snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from reconciler.plan.budget import BudgetWindow

HoldStatus = Literal["pending", "approving", "approved", "rejected"]
"""`approving`: an approval took the users out of the pending hold and has not finished its
removals yet (a crash there leaves it visible; approving it again finishes the job)."""


@dataclass(frozen=True, slots=True)
class HeldRemoval:
    """One removal the budget (or a full run's guard) did not let through, and why the rules
    wanted it."""

    user_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Hold:
    """A group's held removals: one pending hold per group, accumulating users until an
    operator approves or rejects it. `removed`/`kept` are the approval's outcome: users
    removed, and users the rules no longer remove (or who were no longer members)."""

    id: str
    group_id: str
    group_name: str
    status: HoldStatus
    created_at: datetime
    updated_at: datetime
    removals: tuple[HeldRemoval, ...] = ()
    decided_by: str = ""
    decided_at: datetime | None = None
    removed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()

    @property
    def user_ids(self) -> tuple[str, ...]:
        return tuple(r.user_id for r in self.removals)

    def to_json(self, *, users: bool = True) -> dict[str, object]:
        document: dict[str, object] = {
            "id": self.id,
            "group": self.group_id,
            "groupName": self.group_name,
            "status": self.status,
            "users": len(self.removals),
            "createdAt": self.created_at.isoformat(),
            "updatedAt": self.updated_at.isoformat(),
            "decidedBy": self.decided_by or None,
            "decidedAt": self.decided_at.isoformat() if self.decided_at else None,
            "removed": len(self.removed),
            "kept": len(self.kept),
        }
        if users:
            document["removals"] = [{"user": r.user_id, "reason": r.reason} for r in self.removals]
            document["removedUsers"] = list(self.removed)
            document["keptUsers"] = list(self.kept)
        return document


@dataclass(frozen=True, slots=True)
class GroupHolds:
    """What stops a group's removals before any budget is spent: the users of its pending hold
    (they stay held until decided) and users whose removal an operator rejected (the next
    run that wants them removed holds them again)."""

    pending: Hold | None = None
    rejected: frozenset[str] = frozenset()

    @property
    def held_users(self) -> frozenset[str]:
        pending = frozenset(self.pending.user_ids) if self.pending else frozenset()
        return pending | self.rejected


def rejected_after(rejected: frozenset[str], hold: Hold, status: HoldStatus) -> frozenset[str]:
    """The group's rejected users once `hold` is decided: a rejection adds its users (held
    again by the next run that wants them removed), an approval clears them."""
    users = frozenset(hold.user_ids)
    return rejected | users if status == "rejected" else rejected - users


@dataclass(frozen=True, slots=True)
class GroupState:
    """What an operator wants to know of a group between runs (`status`)."""

    group_id: str
    name: str = ""
    members: int | None = None
    last_full_at: datetime | None = None
    last_full_result: str = ""
    last_full_counts: Mapping[str, int] = field(default_factory=dict)
    last_full_seconds: float | None = None
    last_full_correlation_id: str = ""
    last_change_at: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class GroupStateUpdate:
    """Fields to change on a group's state; None leaves a field as it is, so the full run,
    the worker and an approval can each write what they know without reading first."""

    group_id: str
    name: str | None = None
    members: int | None = None
    last_full_at: datetime | None = None
    last_full_result: str | None = None
    last_full_counts: Mapping[str, int] | None = None
    last_full_seconds: float | None = None
    last_full_correlation_id: str | None = None
    last_change_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One membership change (or held removal) with its cause, reason and correlation id."""

    at: datetime
    group_id: str
    user_id: str
    action: str
    result: str
    reason: str
    cause: str
    correlation_id: str
    by: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "group": self.group_id,
            "user": self.user_id,
            "action": self.action,
            "result": self.result,
            "reason": self.reason,
            "cause": self.cause,
            "correlationId": self.correlation_id,
            "by": self.by or None,
        }


@dataclass(frozen=True, slots=True)
class BudgetSnapshot:
    """Budget windows as read, with the versions (ETags) a commit must still find, so a
    spend based on an outdated read fails instead of spending twice."""

    windows: Mapping[str, BudgetWindow]
    versions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BurstPass:
    """The tenant's one coalesced pass for a burst of changed users (reconciler/service/
    burst.py): when the last finished pass started, and who runs one now and since when.
    `version` is the row's ETag (None: no row yet), for the conditional claim."""

    last_started_at: datetime | None = None
    running_since: datetime | None = None
    owner: str = ""
    version: str | None = None

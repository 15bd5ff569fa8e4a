"""The state store as the service sees it: narrow protocols and their two errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from reconciler.plan.budget import BudgetWindow
from reconciler.state.model import (
    BudgetSnapshot,
    BurstPass,
    GroupHolds,
    GroupState,
    GroupStateUpdate,
    HeldRemoval,
    HistoryEntry,
    Hold,
    HoldStatus,
)


class StateUnavailable(RuntimeError):
    """The store could not be read or written (storage down, not configured, refused): no
    removal may go ahead on a budget nobody could check."""


class StateConflict(RuntimeError):
    """Someone else wrote the row since it was read (HTTP 412): read again, decide again."""


class HoldError(ValueError):
    """An operator asked for a hold that does not exist (`kind` "not-found"), by an id that
    cannot be one ("invalid"), or one that cannot be decided now ("conflict")."""

    def __init__(self, message: str, kind: str = "conflict") -> None:
        super().__init__(message)
        self.kind = kind


class BudgetStore(Protocol):
    async def read_budget(self, group_ids: Sequence[str]) -> BudgetSnapshot:
        """The windows of these groups and the tenant's (missing ones are empty)."""
        ...

    async def commit_budget(
        self, snapshot: BudgetSnapshot, windows: Mapping[str, BudgetWindow]
    ) -> None:
        """Write the windows in one transaction, only if none changed since `snapshot`;
        raises StateConflict otherwise."""
        ...


class HoldStore(Protocol):
    async def group_holds(self, group_ids: Sequence[str]) -> dict[str, GroupHolds]: ...

    async def add_to_hold(
        self, group_id: str, group_name: str, removals: Sequence[HeldRemoval], now: datetime
    ) -> Hold:
        """Add users (with their latest reason) to the group's pending hold, creating it if
        there is none; returns the hold as written."""
        ...

    async def holds(self, status: HoldStatus | None = None) -> list[Hold]: ...

    async def hold(self, hold_id: str) -> Hold:
        """Raises HoldError when there is no such hold."""
        ...

    async def begin_approval(self, hold_id: str, by: str, now: datetime) -> Hold:
        """Take the pending hold's users out of it (a run that wants them later starts a new
        pending hold) and mark it approving; an `approving` hold is returned as it is, so an
        interrupted approval can be finished. Raises HoldError for a decided hold."""
        ...

    async def finish_approval(
        self, hold: Hold, removed: Sequence[str], kept: Sequence[str], now: datetime
    ) -> Hold: ...

    async def reject(self, hold_id: str, by: str, now: datetime) -> Hold:
        """Drop the pending hold; its users stay remembered as rejected, so the next run that
        wants them removed holds them again. Raises HoldError for a decided hold."""
        ...


class GroupStateStore(Protocol):
    async def update_groups(self, updates: Sequence[GroupStateUpdate]) -> None: ...

    async def group_states(self) -> list[GroupState]: ...

    async def append_history(self, entries: Sequence[HistoryEntry]) -> None: ...

    async def history(
        self, *, group_id: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[HistoryEntry]:
        """Newest first."""
        ...

    async def purge_history(self, before: datetime) -> int:
        """Drop entries older than `before` (HISTORY_DAYS); returns how many."""
        ...


class BurstPassStore(Protocol):
    async def burst_pass(self) -> BurstPass: ...

    async def claim_burst_pass(self, seen: BurstPass, owner: str, now: datetime) -> BurstPass:
        """Mark a pass running by `owner` since `now`, if the row is still as `seen`;
        StateConflict when another worker changed it first."""
        ...

    async def finish_burst_pass(self, claimed: BurstPass, completed: bool) -> None:
        """Clear the running mark; a completed pass also becomes the last one (its start is
        what later messages are compared with). StateConflict if the claim was taken over."""
        ...


class StateStore(BudgetStore, HoldStore, GroupStateStore, BurstPassStore, Protocol):
    """All of the above: what TableStateStore implements."""

"""An in-memory StateStore for unit tests of one unit (the service's budget and hold logic):
versions stand in for ETags, so a stale commit fails as it does on Table Storage. The real
store is tests/state/test_tables.py's, on Azurite."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from reconciler.plan.budget import TENANT, BudgetWindow
from reconciler.state import (
    BudgetSnapshot,
    BurstPass,
    GroupHolds,
    GroupState,
    GroupStateUpdate,
    HeldRemoval,
    HistoryEntry,
    Hold,
    HoldError,
    StateConflict,
    StateUnavailable,
)
from reconciler.state.model import rejected_after


class MemoryStateStore:
    def __init__(self) -> None:
        self.windows: dict[str, tuple[BudgetWindow, str]] = {}
        self.pending: dict[str, Hold] = {}
        self.rejected: dict[str, frozenset[str]] = {}
        self.decided: dict[str, Hold] = {}
        self.states: dict[str, GroupState] = {}
        self.entries: list[HistoryEntry] = []
        self.down = False  # True: every call raises StateUnavailable, as storage down does
        self.burst = BurstPass()
        self._versions = itertools.count(1)
        self._ids = itertools.count(1)

    def _check(self) -> None:
        if self.down:
            raise StateUnavailable("memory store is down")

    async def read_budget(self, group_ids: Sequence[str]) -> BudgetSnapshot:
        self._check()
        keys = [TENANT, *group_ids]
        found = {k: self.windows[k] for k in keys if k in self.windows}
        return BudgetSnapshot(
            {k: w for k, (w, _) in found.items()}, {k: v for k, (_, v) in found.items()}
        )

    async def commit_budget(
        self, snapshot: BudgetSnapshot, windows: Mapping[str, BudgetWindow]
    ) -> None:
        self._check()
        for key in windows:
            current = self.windows.get(key)
            if (current[1] if current else None) != snapshot.versions.get(key):
                raise StateConflict(f"{key} changed")
        for key, window in windows.items():
            self.windows[key] = (window, str(next(self._versions)))

    async def group_holds(self, group_ids: Sequence[str]) -> dict[str, GroupHolds]:
        self._check()
        return {
            g: GroupHolds(self.pending.get(g), self.rejected.get(g, frozenset())) for g in group_ids
        }

    async def add_to_hold(
        self, group_id: str, group_name: str, removals: Sequence[HeldRemoval], now: datetime
    ) -> Hold:
        self._check()
        hold = self.pending.get(group_id) or Hold(
            f"{next(self._ids):012x}", group_id, group_name, "pending", now, now
        )
        reasons = {r.user_id: r.reason for r in (*hold.removals, *removals)}
        hold = replace(
            hold,
            removals=tuple(HeldRemoval(u, reasons[u]) for u in sorted(reasons)),
            updated_at=now,
        )
        self.pending[group_id] = hold
        return hold

    async def holds(self, status: str | None = None) -> list[Hold]:
        self._check()
        every = [*self.pending.values(), *self.decided.values()]
        return [h for h in every if status is None or h.status == status]

    async def hold(self, hold_id: str) -> Hold:
        self._check()
        for hold in (*self.decided.values(), *self.pending.values()):
            if hold.id == hold_id:
                return hold
        raise HoldError(f"no hold {hold_id}", "not-found")

    async def begin_approval(self, hold_id: str, by: str, now: datetime) -> Hold:
        hold = await self.hold(hold_id)
        if hold.status == "approving":
            return hold
        if hold.status != "pending":
            raise HoldError(f"hold {hold_id} is already {hold.status}")
        return self._close(hold, "approving", by, now)

    async def finish_approval(
        self, hold: Hold, removed: Sequence[str], kept: Sequence[str], now: datetime
    ) -> Hold:
        self._check()
        done = replace(hold, status="approved", removed=tuple(removed), kept=tuple(kept))
        self.decided[hold.id] = done
        return done

    async def reject(self, hold_id: str, by: str, now: datetime) -> Hold:
        hold = await self.hold(hold_id)
        if hold.status != "pending":
            raise HoldError(f"hold {hold_id} is already {hold.status}")
        return self._close(hold, "rejected", by, now)

    def _close(self, hold: Hold, status: str, by: str, now: datetime) -> Hold:
        del self.pending[hold.group_id]
        rejected = self.rejected.get(hold.group_id, frozenset())
        self.rejected[hold.group_id] = rejected_after(rejected, hold, status)  # type: ignore[arg-type]
        decided = replace(hold, status=status, decided_by=by, decided_at=now)  # type: ignore[arg-type]
        self.decided[hold.id] = decided
        return decided

    async def update_groups(self, updates: Sequence[GroupStateUpdate]) -> None:
        self._check()
        for update in updates:
            state = self.states.get(update.group_id, GroupState(update.group_id))
            changes = {
                name: getattr(update, name)
                for name in GroupState.__dataclass_fields__
                if name != "group_id" and getattr(update, name) is not None
            }
            self.states[update.group_id] = replace(state, **changes)

    async def group_states(self) -> list[GroupState]:
        self._check()
        return list(self.states.values())

    async def append_history(self, entries: Sequence[HistoryEntry]) -> None:
        self._check()
        self.entries.extend(entries)

    async def history(
        self, *, group_id: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[HistoryEntry]:
        self._check()
        found = [
            e
            for e in reversed(self.entries)
            if (group_id is None or e.group_id == group_id) and (since is None or e.at >= since)
        ]
        return found[:limit]

    async def purge_history(self, before: datetime) -> int:
        self._check()
        kept = [e for e in self.entries if e.at >= before]
        purged = len(self.entries) - len(kept)
        self.entries = kept
        return purged

    async def burst_pass(self) -> BurstPass:
        self._check()
        return self.burst

    async def claim_burst_pass(self, seen: BurstPass, owner: str, now: datetime) -> BurstPass:
        self._check()
        if seen.version != self.burst.version:
            raise StateConflict("the burst pass changed")
        version = str(next(self._versions))
        self.burst = replace(seen, running_since=now, owner=owner, version=version)
        return self.burst

    async def finish_burst_pass(self, claimed: BurstPass, completed: bool) -> None:
        self._check()
        if claimed.version != self.burst.version:
            raise StateConflict("the burst pass was taken over")
        last = claimed.running_since if completed else claimed.last_started_at
        self.burst = BurstPass(last_started_at=last, version=str(next(self._versions)))

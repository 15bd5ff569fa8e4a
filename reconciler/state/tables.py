"""The state store on Azure Table Storage (Azurite locally): budget, holds, group state,
history, one table each, every conditional write under the row's ETag."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from reconciler.plan.budget import TENANT, BudgetWindow
from reconciler.settings import Settings
from reconciler.state import entities as rows
from reconciler.state.connection import table_service
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
    rejected_after,
)
from reconciler.state.ports import HoldError, StateConflict, StateUnavailable

T = TypeVar("T")
TABLES = ("budget", "holds", "groups", "history")
HOLD_ID = re.compile(r"[0-9a-f]{12}")
CONFLICT_RETRIES = 50
"""Rounds of read-merge-write for a hold row before giving up (each round loses only to a
write that succeeded, so this bounds contention, not progress)."""


class TableStateStore:
    """Implements reconciler.state.ports.StateStore. One per event loop (the async client
    cannot be shared across loops); tables are created on first use."""

    def __init__(self, service: Any, prefix: str = "reconciler", unavailable: str = "") -> None:
        self._service = service
        self._unavailable = unavailable
        self._names = {table: f"{prefix}{table}" for table in TABLES}
        self._ready: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> TableStateStore:
        """With no storage connection configured, every call raises StateUnavailable naming
        the settings: work that needs no state (adds, maintenance) still goes, removals fail
        closed."""
        service, unavailable = table_service(settings)
        return cls(service, settings.state_table_prefix, unavailable)

    async def close(self) -> None:
        if self._service is not None:
            await self._service.close()

    async def _table(self, table: str) -> Any:
        if self._service is None:
            raise StateUnavailable(self._unavailable)
        name = self._names[table]
        if name not in self._ready:
            await self._service.create_table_if_not_exists(name)
            self._ready.add(name)
        return self._service.get_table_client(name)

    async def _call(self, table: str, action: Callable[[Any], Awaitable[T]]) -> T:
        """Run `action(table_client)`, mapping storage errors: 412 (and a create that lost a
        race, 409) to StateConflict, anything else to StateUnavailable."""
        from azure.core.exceptions import AzureError

        try:
            return await action(await self._table(table))
        except AzureError as error:
            status = getattr(error, "status_code", None)
            if status in (409, 412):
                raise StateConflict(_first_line(error)) from error
            raise StateUnavailable(f"table {self._names[table]}: {_first_line(error)}") from error

    # --- budget ---------------------------------------------------------------------------------

    async def read_budget(self, group_ids: Sequence[str]) -> BudgetSnapshot:
        keys = [TENANT, *sorted(set(group_ids))]

        async def read(client: Any) -> BudgetSnapshot:
            found = await asyncio.gather(*(_get(client, rows.BUDGET_PARTITION, k) for k in keys))
            windows, versions = {}, {}
            for key, row in zip(keys, found, strict=True):
                if row is not None:
                    windows[key] = rows.budget_window(row)
                    versions[key] = row.metadata["etag"]
            return BudgetSnapshot(windows, versions)

        return await self._call("budget", read)

    async def commit_budget(
        self, snapshot: BudgetSnapshot, windows: Mapping[str, BudgetWindow]
    ) -> None:
        from azure.core import MatchConditions
        from azure.data.tables import TableTransactionError, UpdateMode

        operations: list[Any] = []
        for key, window in sorted(windows.items()):
            row = rows.budget_row(key, window)
            etag = snapshot.versions.get(key)
            if etag is None:
                operations.append(("create", row))
            else:
                options = {
                    "mode": UpdateMode.REPLACE,
                    "etag": etag,
                    "match_condition": MatchConditions.IfNotModified,
                }
                operations.append(("update", row, options))
        if not operations:
            return

        async def commit(client: Any) -> None:
            # One partition, one entity-group transaction: the group's and the tenant's
            # windows change together or not at all.
            try:
                await client.submit_transaction(operations)
            except TableTransactionError as error:
                if error.status_code in (409, 412):
                    raise StateConflict(_first_line(error)) from error
                raise

        await self._call("budget", commit)

    # --- holds ----------------------------------------------------------------------------------

    async def group_holds(self, group_ids: Sequence[str]) -> dict[str, GroupHolds]:
        ids = sorted(set(group_ids))

        async def read(client: Any) -> dict[str, GroupHolds]:
            found = await asyncio.gather(*(_get(client, g, rows.PENDING) for g in ids))
            result = {}
            for group_id, row in zip(ids, found, strict=True):
                hold, rejected = rows.pending_hold(row) if row is not None else (None, frozenset())
                result[group_id] = GroupHolds(hold, rejected)
            return result

        return await self._call("holds", read)

    async def add_to_hold(
        self, group_id: str, group_name: str, removals: Sequence[HeldRemoval], now: datetime
    ) -> Hold:
        async def merge(hold: Hold | None, rejected: frozenset[str]) -> tuple[Hold, frozenset[str]]:
            if hold is None:
                hold = Hold(uuid.uuid4().hex[:12], group_id, group_name, "pending", now, now)
            reasons = {r.user_id: r.reason for r in hold.removals}
            reasons.update((r.user_id, r.reason) for r in removals)
            held = tuple(HeldRemoval(u, reasons[u]) for u in sorted(reasons))
            return replace(
                hold, group_name=group_name or hold.group_name, removals=held, updated_at=now
            ), rejected

        hold, _ = await self._update_pending(group_id, merge)
        assert hold is not None
        return hold

    async def holds(self, status: HoldStatus | None = None) -> list[Hold]:
        async def scan(client: Any) -> list[Hold]:
            found = []
            async for row in client.list_entities():
                if row["RowKey"] == rows.PENDING:
                    hold, _ = rows.pending_hold(row)
                else:
                    hold = rows.decided_hold(row)
                if hold is not None and (status is None or hold.status == status):
                    found.append(hold)
            return sorted(found, key=lambda h: h.created_at, reverse=True)

        return await self._call("holds", scan)

    async def hold(self, hold_id: str) -> Hold:
        row = await self._find(hold_id)
        if row["RowKey"] == rows.PENDING:
            hold, _ = rows.pending_hold(row)
            assert hold is not None
            return hold
        return rows.decided_hold(row)

    async def begin_approval(self, hold_id: str, by: str, now: datetime) -> Hold:
        row = await self._find(hold_id)
        if row["RowKey"] != rows.PENDING:
            decided = rows.decided_hold(row)
            if decided.status == "approving":
                return decided
            raise HoldError(f"hold {hold_id} is already {decided.status}")
        return await self._close(row["PartitionKey"], hold_id, "approving", by, now)

    async def finish_approval(
        self, hold: Hold, removed: Sequence[str], kept: Sequence[str], now: datetime
    ) -> Hold:
        done = replace(
            hold, status="approved", removed=tuple(removed), kept=tuple(kept), updated_at=now
        )
        await self._call("holds", lambda client: client.upsert_entity(rows.decided_row(done)))
        return done

    async def reject(self, hold_id: str, by: str, now: datetime) -> Hold:
        row = await self._find(hold_id)
        if row["RowKey"] != rows.PENDING:
            raise HoldError(f"hold {hold_id} is already {rows.decided_hold(row).status}")
        return await self._close(row["PartitionKey"], hold_id, "rejected", by, now)

    async def _find(self, hold_id: str) -> Any:
        if not HOLD_ID.fullmatch(hold_id):
            raise HoldError(
                f"{hold_id!r} is not a hold id (12 hex digits, see `holds list`)", "invalid"
            )

        async def find(client: Any) -> Any:
            query = f"HoldId eq '{hold_id}'"
            found = [row async for row in client.query_entities(query)]
            # A pending row and its `approving` copy can both exist for a moment: the copy wins.
            found.sort(key=lambda row: row["RowKey"] == rows.PENDING)
            return found[0] if found else None

        row = await self._call("holds", find)
        if row is None:
            raise HoldError(f"no hold {hold_id}", "not-found")
        return row

    async def _close(
        self, group_id: str, hold_id: str, status: HoldStatus, by: str, now: datetime
    ) -> Hold:
        """Take the pending hold out: first its decided copy (so a crash loses nobody), then
        the pending row emptied under its ETag (a worker adding users meanwhile makes us
        copy again with them)."""
        closed: list[Hold] = []

        async def close(
            hold: Hold | None, rejected: frozenset[str]
        ) -> tuple[Hold | None, frozenset[str]]:
            if hold is None or hold.id != hold_id:
                raise HoldError(f"hold {hold_id} is no longer pending")
            decided = replace(hold, status=status, decided_by=by, decided_at=now, updated_at=now)
            await self._call("holds", lambda c: c.upsert_entity(rows.decided_row(decided)))
            closed[:] = [decided]
            return None, rejected_after(rejected, hold, status)

        await self._update_pending(group_id, close)
        return closed[0]

    async def _update_pending(self, group_id: str, change: Callable[..., Awaitable[Any]]) -> Any:
        """Read the group's pending row, `change(hold, rejected)` -> (hold, rejected), write it
        back only if nobody else did meanwhile; again on a conflict."""
        for _ in range(CONFLICT_RETRIES):
            row = await self._call("holds", lambda c: _get(c, group_id, rows.PENDING))
            hold, rejected = rows.pending_hold(row) if row is not None else (None, frozenset())
            new_hold, new_rejected = await change(hold, rejected)
            try:
                entity = rows.pending_row(group_id, new_hold, new_rejected)
            except ValueError as error:
                raise StateUnavailable(str(error)) from error
            try:
                await self._write_pending(row, entity)
            except StateConflict:
                continue
            return new_hold, new_rejected
        raise StateUnavailable(f"the pending hold of {group_id} kept changing; try again")

    async def _write_pending(self, read: Any, entity: dict[str, Any]) -> None:
        """Create the pending row if none was read, else replace it only if its ETag is still
        the one read (StateConflict when another writer came first)."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        if read is None:
            await self._call("holds", lambda c: c.create_entity(entity))
            return
        etag = read.metadata["etag"]
        await self._call(
            "holds",
            lambda c: c.update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            ),
        )

    # --- group state and history ----------------------------------------------------------------

    async def update_groups(self, updates: Sequence[GroupStateUpdate]) -> None:
        from azure.data.tables import UpdateMode

        if not updates:
            return

        async def write(client: Any) -> None:
            operations = [
                ("upsert", rows.group_update_row(u), {"mode": UpdateMode.MERGE}) for u in updates
            ]
            for start in range(0, len(operations), 100):
                await client.submit_transaction(operations[start : start + 100])

        await self._call("groups", write)

    async def group_states(self) -> list[GroupState]:
        async def scan(client: Any) -> list[GroupState]:
            query = f"PartitionKey eq '{rows.GROUP_PARTITION}'"
            return [rows.group_state(row) async for row in client.query_entities(query)]

        return await self._call("groups", scan)

    async def append_history(self, entries: Sequence[HistoryEntry]) -> None:
        if not entries:
            return
        by_day: dict[str, list[Any]] = {}
        for entry in entries:
            row = rows.history_row(entry, uuid.uuid4().hex[:12])
            by_day.setdefault(row["PartitionKey"], []).append(("create", row))

        async def write(client: Any) -> None:
            for operations in by_day.values():
                for start in range(0, len(operations), 100):
                    await client.submit_transaction(operations[start : start + 100])

        await self._call("history", write)

    async def history(
        self, *, group_id: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[HistoryEntry]:
        now = datetime.now(UTC)
        since = since or now - timedelta(days=31)

        async def scan(client: Any) -> list[HistoryEntry]:
            found: list[HistoryEntry] = []
            day = now
            while day.date() >= since.date() and len(found) < limit:
                query = f"PartitionKey eq '{rows.history_partition(day)}'"
                async for row in client.query_entities(query):
                    entry = rows.history_entry(row)
                    if entry.at >= since and (group_id is None or entry.group_id == group_id):
                        found.append(entry)
                        if len(found) >= limit:
                            break
                day -= timedelta(days=1)
            return found

        return await self._call("history", scan)

    async def purge_history(self, before: datetime) -> int:
        async def purge(client: Any) -> int:
            query = f"PartitionKey lt '{rows.history_partition(before)}'"
            old: dict[str, list[Any]] = {}
            async for row in client.query_entities(query, select=["PartitionKey", "RowKey"]):
                old.setdefault(row["PartitionKey"], []).append(("delete", row))
            for operations in old.values():
                for start in range(0, len(operations), 100):
                    await client.submit_transaction(operations[start : start + 100])
            return sum(len(ops) for ops in old.values())

        return await self._call("history", purge)

    # --- the burst pass -------------------------------------------------------------------------

    async def burst_pass(self) -> BurstPass:
        async def read(client: Any) -> BurstPass:
            row = await _get(client, rows.BURST_PARTITION, rows.BURST_ROW)
            return rows.burst_pass(row, row.metadata["etag"] if row is not None else None)

        return await self._call("groups", read)

    async def claim_burst_pass(self, seen: BurstPass, owner: str, now: datetime) -> BurstPass:
        claimed = replace(seen, running_since=now, owner=owner)
        version = await self._write_burst(claimed, seen.version)
        return replace(claimed, version=version)

    async def finish_burst_pass(self, claimed: BurstPass, completed: bool) -> None:
        last = claimed.running_since if completed else claimed.last_started_at
        done = BurstPass(last_started_at=last, version=claimed.version)
        await self._write_burst(done, claimed.version)

    async def _write_burst(self, state: BurstPass, version: str | None) -> str:
        """Create the row (no version) or replace it under its ETag; the new ETag."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        row = rows.burst_row(state)

        async def write(client: Any) -> str:
            if version is None:
                answer = await client.create_entity(row)
            else:
                answer = await client.update_entity(
                    row,
                    mode=UpdateMode.REPLACE,
                    etag=version,
                    match_condition=MatchConditions.IfNotModified,
                )
            return str(answer["etag"])

        return await self._call("groups", write)


async def _get(client: Any, partition: str, row: str) -> Any:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return await client.get_entity(partition, row)
    except ResourceNotFoundError:
        return None


def _first_line(error: Exception) -> str:
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


_SHARED: dict[tuple[int, Settings], TableStateStore] = {}


@asynccontextmanager
async def shared_state(settings: Settings) -> AsyncIterator[TableStateStore]:
    """One store per event loop and settings for the worker (its loop lives as long as the
    process), so every message reuses the connection pool."""
    key = (id(asyncio.get_running_loop()), settings)
    if key not in _SHARED:
        _SHARED[key] = TableStateStore.from_settings(settings)
    yield _SHARED[key]


@asynccontextmanager
async def open_state(settings: Settings) -> AsyncIterator[TableStateStore]:
    """A store for one command (the CLI), closed afterwards."""
    store = TableStateStore.from_settings(settings)
    try:
        yield store
    finally:
        await store.close()

"""The saved `/users/delta` link, in Table Storage: one row, replaced only under its ETag.

Table `<STATE_TABLE_PREFIX>delta`, PartitionKey `delta`, RowKey `users`, properties `Link` (the
whole deltaLink URL, as Graph asks), `Select` (the tracked properties, comma-separated: a
link tracks only what it was started with, so a different set means a new link) and
`UpdatedAt`. Two catch-ups that race both read the same link; the second write loses with
StateConflict (412, or 409 when both create the row), and its users were only queued twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from reconciler.settings import Settings
from reconciler.state.connection import table_service
from reconciler.state.ports import StateConflict, StateUnavailable

T = TypeVar("T")
TABLE = "delta"
PARTITION = "delta"
ROW = "users"
MAX_LINK_LENGTH = 30_000
"""A string property holds 64 KiB (32K UTF-16 characters); Graph's links are a few hundred."""


@dataclass(frozen=True, slots=True)
class SavedLink:
    """The link, what it tracks, and the row's ETag (`version`) for the conditional write."""

    link: str
    select: tuple[str, ...]
    version: str
    updated_at: datetime | None = None


class TableDeltaLinks:
    """Implements reconciler.service.catchup.DeltaLinkStore on the state storage account."""

    def __init__(self, service: Any, prefix: str = "reconciler", unavailable: str = "") -> None:
        self._service = service
        self._name = f"{prefix}{TABLE}"
        self._unavailable = unavailable
        self._ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> TableDeltaLinks:
        """Without a storage setting every call raises StateUnavailable naming the settings."""
        service, unavailable = table_service(settings)
        return cls(service, settings.state_table_prefix, unavailable)

    async def close(self) -> None:
        if self._service is not None:
            await self._service.close()

    async def read_link(self) -> SavedLink | None:
        from azure.core.exceptions import ResourceNotFoundError

        async def read(client: Any) -> SavedLink | None:
            try:
                row = await client.get_entity(PARTITION, ROW)
            except ResourceNotFoundError:
                return None
            select = tuple(name for name in str(row.get("Select", "")).split(",") if name)
            return SavedLink(
                str(row.get("Link", "")), select, row.metadata["etag"], row.get("UpdatedAt")
            )

        return await self._call(read)

    async def write_link(self, link: str, select: tuple[str, ...], version: str | None) -> None:
        """Create the row (`version` None) or replace it if unchanged since it was read;
        StateConflict when another writer came first."""
        from azure.core import MatchConditions
        from azure.data.tables import UpdateMode

        if len(link) > MAX_LINK_LENGTH:
            raise StateUnavailable(f"a delta link of {len(link):,} characters does not fit a row")
        row = {
            "PartitionKey": PARTITION,
            "RowKey": ROW,
            "Link": link,
            "Select": ",".join(select),
            "UpdatedAt": datetime.now(UTC),
        }

        async def write(client: Any) -> None:
            if version is None:
                await client.create_entity(row)
            else:
                await client.update_entity(
                    row,
                    mode=UpdateMode.REPLACE,
                    etag=version,
                    match_condition=MatchConditions.IfNotModified,
                )

        await self._call(write)

    async def _call(self, action: Callable[[Any], Awaitable[T]]) -> T:
        from azure.core.exceptions import AzureError

        if self._service is None:
            raise StateUnavailable(self._unavailable)
        try:
            if not self._ready:
                await self._service.create_table_if_not_exists(self._name)
                self._ready = True
            return await action(self._service.get_table_client(self._name))
        except AzureError as error:
            text = str(error).splitlines()[0] if str(error) else type(error).__name__
            if getattr(error, "status_code", None) in (409, 412):
                raise StateConflict(text) from error
            raise StateUnavailable(f"table {self._name}: {text}") from error


_SHARED: dict[tuple[int, Settings], TableDeltaLinks] = {}


@asynccontextmanager
async def shared_delta_links(settings: Settings) -> AsyncIterator[TableDeltaLinks]:
    """One store per event loop and settings (the worker's loop lives as long as it does)."""
    key = (id(asyncio.get_running_loop()), settings)
    if key not in _SHARED:
        _SHARED[key] = TableDeltaLinks.from_settings(settings)
    yield _SHARED[key]

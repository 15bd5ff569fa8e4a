"""The delta-link row on Azurite: created once, replaced only under its ETag."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from reconciler.settings import Settings
from reconciler.state import StateConflict, StateUnavailable
from reconciler.state.delta_link import TableDeltaLinks
from tests.state.conftest import store_settings

SELECT = ("department", "id")


@pytest.fixture
async def links(azurite, prefix: str) -> AsyncIterator[TableDeltaLinks]:
    store = TableDeltaLinks.from_settings(store_settings(azurite.connection_string, prefix))
    yield store
    await store.close()


async def test_no_row_reads_as_none_then_a_written_link_reads_back(
    links: TableDeltaLinks,
) -> None:
    assert await links.read_link() is None
    await links.write_link("https://graph/users/delta?$deltatoken=a", SELECT, None)
    saved = await links.read_link()
    assert saved is not None
    assert (saved.link, saved.select) == ("https://graph/users/delta?$deltatoken=a", SELECT)
    assert saved.version and saved.updated_at is not None


async def test_a_write_under_an_old_etag_loses_and_the_newer_link_stays(
    links: TableDeltaLinks,
) -> None:
    await links.write_link("first", SELECT, None)
    read_by_both = await links.read_link()
    assert read_by_both is not None
    await links.write_link("second", SELECT, read_by_both.version)
    with pytest.raises(StateConflict):
        await links.write_link("third", SELECT, read_by_both.version)
    saved = await links.read_link()
    assert saved is not None and saved.link == "second"


async def test_two_first_writers_conflict_rather_than_overwrite(links: TableDeltaLinks) -> None:
    await links.write_link("mine", SELECT, None)
    with pytest.raises(StateConflict):
        await links.write_link("theirs", SELECT, None)


async def test_without_a_storage_setting_every_call_names_it() -> None:
    store = TableDeltaLinks.from_settings(Settings())
    with pytest.raises(StateUnavailable, match="AzureWebJobsStorage"):
        await store.read_link()

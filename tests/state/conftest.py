"""The state store's tests run on the session's Azurite (queue + table) over loopback."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from reconciler.settings import Settings
from reconciler.state.tables import TableStateStore
from tests.devhost.fixtures import azurite  # noqa: F401 - the session fixture

_PREFIXES = itertools.count(1)


def store_settings(connection: str, prefix: str) -> Settings:
    return Settings(storage_connection=connection, state_table_prefix=prefix)


@pytest.fixture
def prefix() -> str:
    """Own tables per test: state never leaks between tests."""
    return f"t{next(_PREFIXES)}x"


@pytest.fixture
async def store(azurite, prefix: str) -> AsyncIterator[TableStateStore]:  # noqa: F811
    state = TableStateStore.from_settings(store_settings(azurite.connection_string, prefix))
    yield state
    await state.close()

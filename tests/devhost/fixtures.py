"""Reusable pieces for tests that need storage or wait for something: import them.

# in any conftest.py (tests/conftest.py to share one Azurite across all suites)
from tests.devhost.fixtures import azurite  # noqa: F401  (session fixture)
from tests.devhost.fixtures import wait_until
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devhost.azurite import Azurite


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy and return its value; the deadline detects hangs."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def azurite(loopback_only: None) -> Iterator[Azurite]:
    """Azurite's services in memory on free ports, for the whole session: queues, and tables
    for the removal budget, holds and group state. Blob too: with more than one service the
    combined `azurite` script starts blob anyway, on 10000 unless given a port."""
    with Azurite(services=("blob", "queue", "table")) as server:
        yield server

"""One fault stack (own queue, the scenario's rules) per module, on the session's Azurite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.scenario import fault_stack
from harness.stack import Stack
from tests.devhost.fixtures import azurite  # noqa: F401 - the session fixture


@pytest.fixture(scope="module")
def faults_stack(azurite, loopback_only: None) -> Iterator[tuple[Stack, Path]]:  # noqa: F811
    with fault_stack(azurite.connection_string) as running:
        yield running

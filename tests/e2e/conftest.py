"""The whole local stack, once per test module: Azurite (the session's), the Graph emulator,
devhost hosting function_app.py. The stack itself is harness/stack.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.stack import Stack, running_stack
from tests.devhost.fixtures import azurite  # noqa: F401 - the session fixture


@pytest.fixture(scope="module")  # module: the settings it exports end with the module
def stack(azurite, loopback_only: None) -> Iterator[Stack]:  # noqa: F811
    with running_stack(azurite.connection_string) as running:
        yield running

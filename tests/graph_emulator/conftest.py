"""Shared fixtures: one emulator and one webhook receiver per session, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graph_emulator import EmulatorServer
from tests.graph_emulator.graph_api import Api


@pytest.fixture
def api(graph: EmulatorServer) -> Iterator[Api]:
    client = Api(graph.base_url)
    yield client
    client.client.close()

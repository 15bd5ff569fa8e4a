"""Shared fixtures: one emulator and one webhook receiver per session, reset before each test."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest
from azure.core.credentials import AccessToken
from msgraph import GraphServiceClient

from graph_emulator import EmulatorServer
from tests.graph_emulator.graph_api import Api


@pytest.fixture
def api(graph: EmulatorServer) -> Iterator[Api]:
    client = Api(graph.base_url)
    yield client
    client.client.close()


class StaticToken:
    """A sync TokenCredential that always hands out the same token; the emulator takes any."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken("emulator-token", int(time.time()) + 3600)

    def close(self) -> None:
        pass


@pytest.fixture
async def client(graph: EmulatorServer) -> AsyncIterator[GraphServiceClient]:
    """The real SDK client on the emulator; one per test: it cannot outlive its event loop."""
    sdk = GraphServiceClient(
        credentials=StaticToken(), scopes=["https://graph.microsoft.com/.default"]
    )
    sdk.request_adapter.base_url = graph.base_url
    yield sdk

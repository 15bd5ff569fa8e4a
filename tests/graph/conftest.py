"""A GraphDirectory on the session emulator, built with the real msgraph-sdk client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from reconciler.graph import GraphDirectory, GraphTransport, RetryPolicy, WritePacer
from reconciler.graph.client import build_client, build_credential
from reconciler.settings import Settings


class RecordedSleep:
    """Records each requested delay and waits for none of it: retry tests stay instant while
    proving which Retry-After was honoured."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> RecordedSleep:
    return RecordedSleep()


@asynccontextmanager
async def graph_directory(base_url: str, sleeps: RecordedSleep) -> AsyncIterator[GraphDirectory]:
    """The production adapter on an emulator, with instant (recorded) retry waits."""
    settings = Settings.from_env(
        {"GRAPH_BASE_URL": base_url, "GRAPH_CREDENTIAL": "static", "GRAPH_STATIC_TOKEN": "t"}
    )
    async with httpx.AsyncClient() as http:
        client = build_client(settings, build_credential(settings), http)
        policy = RetryPolicy(attempts=5, base_delay=0.01, max_delay=30)
        yield GraphDirectory(GraphTransport(client, policy, WritePacer(1000), sleep=sleeps))


@pytest.fixture
async def directory(graph, sleeps: RecordedSleep) -> AsyncIterator[GraphDirectory]:
    async with graph_directory(graph.base_url, sleeps) as adapter:
        yield adapter

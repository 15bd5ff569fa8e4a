"""The only code that speaks Microsoft Graph: client factory, transport, the Directory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from reconciler.settings import Settings

from .adapter import GraphDirectory
from .client import build_client, build_credential
from .transport import GraphTransport, RetryPolicy, WritePacer

__all__ = [
    "GraphDirectory",
    "GraphTransport",
    "RetryPolicy",
    "WritePacer",
    "open_directory",
    "shared_directory",
]


def _new_directory(
    settings: Settings, retry: RetryPolicy | None = None
) -> tuple[GraphDirectory, Any, Any]:
    """A directory with its own HTTP pool and credential (returned too, to be closed)."""
    import httpx

    credential = build_credential(settings)
    http = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0), http2=True)
    retry = retry or RetryPolicy(
        settings.graph_retry_attempts,
        settings.graph_retry_base_seconds,
        settings.graph_retry_max_seconds,
    )
    client = build_client(settings, credential, http)
    transport = GraphTransport(client, retry, WritePacer(settings.write_rate))
    return GraphDirectory(transport), http, credential


@asynccontextmanager
async def open_directory(
    settings: Settings, *, retry: RetryPolicy | None = None
) -> AsyncIterator[GraphDirectory]:
    """A GraphDirectory for one run on one event loop, closed afterwards (CLI, tests)."""
    directory, http, credential = _new_directory(settings, retry)
    try:
        yield directory
    finally:
        await http.aclose()
        await credential.close()


_SHARED: dict[tuple[int, Settings], GraphDirectory] = {}


@asynccontextmanager
async def shared_directory(settings: Settings) -> AsyncIterator[GraphDirectory]:
    """One long-lived GraphDirectory per event loop and settings, for the Functions worker.

    Building the SDK client costs ~15 ms and a fresh connection pool, on the same loop that
    answers Graph's webhook; the worker's loop lives as long as the process, so every queue
    message reuses both. A client is never shared across loops (it cannot be).
    """
    key = (id(asyncio.get_running_loop()), settings)
    if key not in _SHARED:
        _SHARED[key] = _new_directory(settings)[0]
    yield _SHARED[key]

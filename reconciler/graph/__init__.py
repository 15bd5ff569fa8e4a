"""The only code that speaks Microsoft Graph: client factory, transport, the Directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from reconciler.settings import Settings

from .client import build_client, build_credential
from .directory import GraphDirectory
from .transport import GraphTransport, RetryPolicy, WritePacer

__all__ = ["GraphDirectory", "GraphTransport", "RetryPolicy", "WritePacer", "open_directory"]


@asynccontextmanager
async def open_directory(
    settings: Settings, *, retry: RetryPolicy | None = None
) -> AsyncIterator[GraphDirectory]:
    """A GraphDirectory for one event loop (the SDK client cannot be shared across loops)."""
    import httpx

    credential = build_credential(settings)
    http = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0), http2=True)
    client = build_client(settings, credential, http)
    retry = retry or RetryPolicy(
        settings.graph_retry_attempts,
        settings.graph_retry_base_seconds,
        settings.graph_retry_max_seconds,
    )
    transport = GraphTransport(client, retry, WritePacer(settings.write_rate))
    try:
        yield GraphDirectory(transport)
    finally:
        await http.aclose()
        await credential.close()

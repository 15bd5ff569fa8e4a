"""Before a command-line run: can Graph be reached at all, and does the credential give a token?

A run's own retries are right for a host that answers slowly or throttles, but when nothing
listens at GRAPH_BASE_URL every request of the run waits out the whole retry budget and each
group reports the same failure. One short probe turns that into one line, soon. The Functions
host does not call this: there, retrying later is the right answer.
"""

from __future__ import annotations

import asyncio
import socket

from reconciler.graph.client import GRAPH_SCOPE, build_credential
from reconciler.settings import Settings

PROBE_ATTEMPTS = 3
PROBE_TIMEOUT_SECONDS = 10.0


class PreflightError(Exception):
    """Graph cannot be used for this run; the message is one line for the operator."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


async def preflight(settings: Settings) -> None:
    """Raise PreflightError unless GRAPH_BASE_URL answers HTTP and the credential gives a
    token. Connection errors are retried PROBE_ATTEMPTS times, GRAPH_RETRY_BASE_SECONDS
    apart (doubling, capped at GRAPH_RETRY_MAX_SECONDS)."""
    await _reach(settings)
    if settings.graph_credential != "static":
        await _token(settings)


async def _reach(settings: Settings) -> None:
    import httpx

    base = settings.graph_base_url
    reason = ""
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_SECONDS) as http:
        for attempt in range(1, PROBE_ATTEMPTS + 1):
            try:
                await http.get(base)  # any HTTP answer (401, 404, ...) means someone is there
                return
            except httpx.ConnectTimeout:
                reason = f"no answer to the connection within {PROBE_TIMEOUT_SECONDS:g} s"
            except httpx.ConnectError as error:
                reason = _connect_reason(error)
            except httpx.TimeoutException:
                reason = f"connected, but no answer within {PROBE_TIMEOUT_SECONDS:g} s"
                break
            except httpx.HTTPError as error:
                reason = f"{type(error).__name__}: {error}"
                break
            if attempt < PROBE_ATTEMPTS:
                delay = settings.graph_retry_base_seconds * 2 ** (attempt - 1)
                await asyncio.sleep(min(delay, settings.graph_retry_max_seconds))
    raise PreflightError(
        f"cannot reach Graph at {base}: {reason}",
        "start the emulator (`.venv/bin/python -m graph_emulator --port 8765`) or set "
        "GRAPH_BASE_URL to a Graph that answers",
    )


def _connect_reason(error: BaseException) -> str:
    """What the socket said, under httpx's "All connection attempts failed"."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (nothing listens on that port)"
        if isinstance(cause, socket.gaierror):
            return f"host name not found ({cause.strerror})"
        cause = cause.__cause__ or cause.__context__
    return str(error) or type(error).__name__


async def _token(settings: Settings) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    credential = build_credential(settings)
    try:
        await credential.get_token(GRAPH_SCOPE)
    except ClientAuthenticationError as error:
        first = (error.message or str(error)).strip().splitlines()[0]
        raise PreflightError(
            f"cannot get a Graph token with GRAPH_CREDENTIAL={settings.graph_credential}: {first}",
            "check the credential's settings (AZURE_CLIENT_ID, AZURE_TENANT_ID, "
            "AZURE_CLIENT_SECRET) or choose another GRAPH_CREDENTIAL",
        ) from None
    finally:
        await credential.close()

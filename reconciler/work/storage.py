"""The storage client side of the work queue: what the output binding cannot do.

The queue output binding writes messages at once; a `recheck` must wait RECHECK_DELAY_SECONDS
(a visibility delay only the storage client offers), and a message that can never succeed is
copied to the poison queue by the worker itself rather than failing five times first.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from reconciler.settings import Settings
from reconciler.state.connection import StorageEndpoint

POISON_SUFFIX = "-poison"
BACKLOG_TTL = 2.0
"""A burst lasts minutes: a two-second-old count is as good, and saves a call per message."""
_BACKLOG: dict[tuple[str, StorageEndpoint | None, str], tuple[float, int]] = {}
_CREDENTIALS: dict[tuple[int, StorageEndpoint], Any] = {}


def _credential(endpoint: StorageEndpoint) -> Any:
    """One async credential per event loop and endpoint: tokens are cached across messages
    (a new credential per send would ask the identity endpoint every time)."""
    key = (id(asyncio.get_running_loop()), endpoint)
    if key not in _CREDENTIALS:
        _CREDENTIALS[key] = endpoint.credential()
    return _CREDENTIALS[key]


class QueueUnavailable(RuntimeError):
    """Storage did not take a message after a few quick retries (Azurite or the account down):
    the caller hands its own message back to the host rather than wait it out."""


@dataclass
class StorageWorkQueue:
    """The work queue and its poison queue on Azure Storage (Azurite locally), base64 text as
    the Functions queue trigger expects. `connection` is a connection string; with an
    identity-based AzureWebJobsStorage it is "" and `identity` names the queue service."""

    connection: str
    name: str
    identity: StorageEndpoint | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> StorageWorkQueue:
        """Raises SettingsError naming the settings when no storage is configured."""
        endpoint = StorageEndpoint.from_settings(settings, "queue")
        if endpoint.connection_string:
            return cls(endpoint.connection_string, settings.user_changes_queue)
        return cls("", settings.user_changes_queue, endpoint)

    def _client(self, queue_name: str) -> Any:
        from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
        from azure.storage.queue.aio import QueueClient

        # Retries after about 0.2 s and 2.2 s, not the SDK's 15 s back-off: a message waiting on
        # storage holds a worker slot, and the host retries the whole message anyway.
        options: dict[str, Any] = {
            "message_encode_policy": TextBase64EncodePolicy(),
            "message_decode_policy": TextBase64DecodePolicy(),
            "retry_total": 2,
            "initial_backoff": 0.2,
            "increment_base": 2,
            "connection_timeout": 5,
            "read_timeout": 30,
        }
        if self.identity is None:
            return QueueClient.from_connection_string(self.connection, queue_name, **options)
        credential = _credential(self.identity)
        return QueueClient(self.identity.service_uri, queue_name, credential=credential, **options)

    async def send(self, text: str, *, delay_seconds: int = 0) -> None:
        await self._send(self.name, text, delay_seconds)

    async def send_to_poison(self, text: str) -> None:
        await self._send(self.name + POISON_SUFFIX, text, 0)

    async def backlog(self) -> int:
        """Storage's estimate of the messages waiting (delayed rechecks included), read at
        most every BACKLOG_TTL seconds per process; 0 when storage cannot say."""
        from azure.core.exceptions import AzureError

        key = (self.connection, self.identity, self.name)
        cached = _BACKLOG.get(key)
        if cached is not None and time.monotonic() - cached[0] < BACKLOG_TTL:
            return cached[1]
        try:
            async with self._client(self.name) as client:
                count = (await client.get_queue_properties()).approximate_message_count or 0
        except AzureError:
            return 0  # unknown: the per-user path, as without a burst
        _BACKLOG[key] = (time.monotonic(), count)
        return count

    async def _send(self, queue_name: str, text: str, delay_seconds: int) -> None:
        from azure.core.exceptions import AzureError, ResourceExistsError

        try:
            async with self._client(queue_name) as client:
                with contextlib.suppress(ResourceExistsError):
                    await client.create_queue()
                await client.send_message(text, visibility_timeout=delay_seconds or None)
        except AzureError as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise QueueUnavailable(f"could not write to queue '{queue_name}': {reason}") from error

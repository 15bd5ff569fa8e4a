"""The storage client side of the work queue: what the output binding cannot do.

The queue output binding writes messages at once; a `recheck` must wait RECHECK_DELAY_SECONDS
(a visibility delay only the storage client offers), and a message that can never succeed is
copied to the poison queue by the worker itself rather than failing five times first.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from reconciler.settings import Settings

POISON_SUFFIX = "-poison"


@dataclass
class StorageWorkQueue:
    """The work queue and its poison queue on Azure Storage (Azurite locally), base64 text as
    the Functions queue trigger expects."""

    connection: str
    name: str

    @classmethod
    def from_settings(cls, settings: Settings) -> StorageWorkQueue:
        return cls(settings.require("storage_connection"), settings.user_changes_queue)

    def _client(self, queue_name: str) -> Any:
        from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
        from azure.storage.queue.aio import QueueClient

        return QueueClient.from_connection_string(
            self.connection,
            queue_name,
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )

    async def send(self, text: str, *, delay_seconds: int = 0) -> None:
        await self._send(self.name, text, delay_seconds)

    async def send_to_poison(self, text: str) -> None:
        await self._send(self.name + POISON_SUFFIX, text, 0)

    async def _send(self, queue_name: str, text: str, delay_seconds: int) -> None:
        from azure.core.exceptions import ResourceExistsError

        async with self._client(queue_name) as client:
            with contextlib.suppress(ResourceExistsError):
                await client.create_queue()
            await client.send_message(text, visibility_timeout=delay_seconds or None)

"""The worker's own queue client (rechecks, poison copies) on a real Azurite, and down."""

from __future__ import annotations

import asyncio
import time

import pytest
from azure.storage.queue import QueueClient

from devhost.azurite import ACCOUNT_KEY, ACCOUNT_NAME, Azurite, free_port
from reconciler.settings import Settings, SettingsError
from reconciler.work.storage import QueueUnavailable, StorageWorkQueue


def test_a_delayed_message_is_invisible_until_its_delay_and_base64_encoded(
    azurite: Azurite,
) -> None:
    queue = StorageWorkQueue(azurite.connection_string, "work-queue-delay")
    asyncio.run(queue.send("later", delay_seconds=30))
    asyncio.run(queue.send("now"))
    with QueueClient.from_connection_string(azurite.connection_string, queue.name) as client:
        assert client.get_queue_properties().approximate_message_count == 2
        [visible] = client.peek_messages(max_messages=5)
        assert visible.content == "bm93"  # base64 of "now", as the queue trigger expects


def test_storage_down_is_reported_after_quick_retries_not_the_sdks_minute(
    azurite: Azurite,
) -> None:
    dead = azurite.connection_string.replace(
        f"127.0.0.1:{azurite.ports['queue']}", f"127.0.0.1:{free_port()}"
    )
    assert ACCOUNT_NAME in dead and ACCOUNT_KEY in dead
    started = time.monotonic()
    with pytest.raises(QueueUnavailable, match="could not write to queue 'work-queue-down'"):
        asyncio.run(StorageWorkQueue(dead, "work-queue-down").send("lost?"))
    # The SDK's default policy would wait about 75 s; ours retries twice within about 3 s.
    assert time.monotonic() - started < 15


def test_the_backlog_counts_waiting_messages_and_is_zero_when_storage_is_down(
    azurite: Azurite,
) -> None:
    queue = StorageWorkQueue(azurite.connection_string, "work-queue-backlog")

    async def fill_and_count() -> int:
        for n in range(3):
            await queue.send(f"m{n}", delay_seconds=30 if n else 0)  # delayed ones count too
        return await queue.backlog()

    assert asyncio.run(fill_and_count()) == 3
    dead = azurite.connection_string.replace(
        f"127.0.0.1:{azurite.ports['queue']}", f"127.0.0.1:{free_port()}"
    )
    assert asyncio.run(StorageWorkQueue(dead, "work-queue-backlog").backlog()) == 0


def test_an_identity_based_connection_reaches_the_accounts_queue_service() -> None:
    """As the host reads AzureWebJobsStorage__accountName / __queueServiceUri (no request)."""
    by_name = StorageWorkQueue.from_settings(
        Settings.from_env({"AzureWebJobsStorage__accountName": "contoso"})
    )
    by_uri = StorageWorkQueue.from_settings(
        Settings.from_env(
            {
                "AzureWebJobsStorage__queueServiceUri": "https://q.example.net/",
                "AzureWebJobsStorage__credential": "managedidentity",
                "USER_CHANGES_QUEUE": "changes",
            }
        )
    )

    async def clients() -> list[tuple[str, str]]:
        found = []
        for queue in (by_name, by_uri):
            client = queue._client(queue.name)
            found.append((client.url, type(client.credential).__name__))
            await client.close()
        return found

    assert asyncio.run(clients()) == [
        ("https://contoso.queue.core.windows.net/user-changes", "DefaultAzureCredential"),
        ("https://q.example.net/changes", "ManagedIdentityCredential"),
    ]


def test_no_storage_setting_is_named() -> None:
    with pytest.raises(SettingsError, match="AzureWebJobsStorage__queueServiceUri"):
        StorageWorkQueue.from_settings(Settings.from_env({}))

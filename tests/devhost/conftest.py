"""Fixtures for devhost's tests: one Azurite per session, a devhost per test on its own queues."""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from azure.storage.queue import QueueClient

from devhost import Azurite, DevHost
from tests.devhost import fixtures

HERE = Path(__file__).parent
HOST_JSON = HERE / "host.json"
# The worker imports an app's script file as a top-level module from the app's directory, so
# the tests read the sample app's records from that same module: `import sample_app`.
sys.path.insert(0, str(HERE))
APP = "sample_app"

import sample_app  # noqa: E402

_counter = itertools.count()

azurite = fixtures.azurite  # the session's Azurite (queue service, in memory)


@pytest.fixture
def queue_name(request: pytest.FixtureRequest) -> str:
    """A fresh queue name per test (3-63 lower-case characters), so tests never share messages."""
    words = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:30]
    return re.sub(r"-+", "-", f"t{os.getpid()}-{next(_counter)}-{words}").strip("-")


@pytest.fixture
def out_queue(queue_name: str) -> str:
    """Where the sample app's HTTP function writes (its own queue, so no trigger consumes it)."""
    return f"{queue_name}-out"


@pytest.fixture
def queue(azurite: Azurite) -> Callable[[str], QueueClient]:
    """Raw (undecoded) sync clients on Azurite, to look at the queue as the host leaves it."""
    clients: list[QueueClient] = []

    def make(name: str) -> QueueClient:
        client = QueueClient.from_connection_string(azurite.connection_string, name)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def start_devhost(
    azurite: Azurite, queue_name: str, out_queue: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., DevHost]]:
    """Start devhost on the sample app in this process (port 0); stopped after the test."""
    sample_app.reset()
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    monkeypatch.setenv("QUEUE_NAME", queue_name)
    monkeypatch.setenv("OUT_QUEUE", out_queue)
    monkeypatch.setenv("TICK_SCHEDULE", "0 0 0 1 1 *")  # once a year: only on demand in tests
    monkeypatch.setenv(
        "BROKEN_STORAGE",
        azurite.connection_string.replace(f":{azurite.ports['queue']}/", ":1/"),
    )
    hosts: list[DevHost] = []

    def start(**kwargs: object) -> DevHost:
        options = {
            "app": APP,
            "app_dir": HERE,
            "host_json": HOST_JSON,
            "settings": None,
            "port": 0,
            **kwargs,
        }
        host = DevHost(**options).start()  # type: ignore[arg-type]
        hosts.append(host)
        return host

    yield start
    for host in hosts:
        host.stop()

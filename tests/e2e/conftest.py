"""The whole local stack, once per test module: Azurite, the Graph emulator, devhost hosting
function_app.py with a short-timeout host.json. Real HTTP everywhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devhost import DevHost
from graph_emulator import EmulatorServer
from tests.devhost.fixtures import azurite  # noqa: F401 - the session fixture

ROOT = Path(__file__).resolve().parents[2]
CLIENT_STATE = "e2e-client-state-0123456789"


@dataclass
class Stack:
    graph: EmulatorServer
    host: DevHost
    connection: str
    queue: str = "user-changes-e2e"


@pytest.fixture(scope="module")  # module: the settings it exports end with the module
def stack(azurite, loopback_only: None) -> Iterator[Stack]:  # noqa: F811
    graph = EmulatorServer(users=200, seed=21)
    graph.start()
    settings = {
        "AzureWebJobsStorage": azurite.connection_string,
        "GRAPH_BASE_URL": graph.base_url,
        "GRAPH_CREDENTIAL": "static",
        "GRAPH_STATIC_TOKEN": "e2e",
        "CLIENT_STATE": CLIENT_STATE,
        "USER_CHANGES_QUEUE": "user-changes-e2e",
        "RULES_FILE": str(ROOT / "rules.sample.toml"),
        "RECHECK_DELAY_SECONDS": "1",
        "WRITE_RATE": "200",
        "GRAPH_RETRY_ATTEMPTS": "2",
        "GRAPH_RETRY_BASE_SECONDS": "0.01",
        "GRAPH_RETRY_MAX_SECONDS": "0.05",
    }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    host = DevHost(
        app="function_app",
        port=0,
        settings=None,
        host_json=ROOT / "tests/devhost/host.json",
        app_dir=ROOT,
    )
    host.start()
    os.environ["NOTIFICATION_URL"] = host.url("notifications")
    os.environ["LIFECYCLE_NOTIFICATION_URL"] = host.url("lifecycle")
    try:
        yield Stack(graph, host, azurite.connection_string)
    finally:
        host.stop()
        graph.stop()
        for name, value in {
            **saved,
            "NOTIFICATION_URL": None,
            "LIFECYCLE_NOTIFICATION_URL": None,
        }.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

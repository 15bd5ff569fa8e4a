"""The whole local stack as a context manager: the Graph emulator and devhost hosting
function_app.py (short-timeout host.json) on a given Azurite. Real HTTP everywhere.

Used by tests/e2e (its `stack` fixture), tests/reliability and the bench scripts
(bench/bench_faults.py, bench/bench_stack.py): give `running_stack` an Azurite connection
string and any settings to change.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from devhost import DevHost
from devhost.azurite import Azurite, free_port
from devhost.process import DevHostProcess
from graph_emulator import EmulatorServer

ROOT = Path(__file__).resolve().parents[1]
CLIENT_STATE = "e2e-client-state-0123456789"


@dataclass
class Stack:
    """`host` runs in this process, or as a child process a test can kill; `azurite` is set
    when the stack owns its Azurite (and may stop and restart it), `tables` when the table
    service runs in an Azurite of its own (so it can be stopped while the queues run on)."""

    graph: EmulatorServer
    host: DevHost | DevHostProcess
    connection: str
    queue: str = "user-changes-e2e"
    azurite: Azurite | None = None
    tables: Azurite | None = None


def stack_settings(connection: str, graph: EmulatorServer, queue: str) -> dict[str, str]:
    """The app settings of the test stack: short retries, a 1 s recheck, the sample rules."""
    return {
        "AzureWebJobsStorage": connection,
        "GRAPH_BASE_URL": graph.base_url,
        "GRAPH_CREDENTIAL": "static",
        "GRAPH_STATIC_TOKEN": "e2e",
        "CLIENT_STATE": CLIENT_STATE,
        "USER_CHANGES_QUEUE": queue,
        "RULES_FILE": str(ROOT / "rules.sample.toml"),
        "RECHECK_DELAY_SECONDS": "1",
        "WRITE_RATE": "200",
        "GRAPH_RETRY_ATTEMPTS": "2",
        "GRAPH_RETRY_BASE_SECONDS": "0.01",
        "GRAPH_RETRY_MAX_SECONDS": "0.05",
        # the timers' binding expressions: function_app.py sets no default. The catch-up is
        # off (1 January) unless a test turns it on, so it never repairs what a test watches.
        "FULL_RECONCILE_SCHEDULE": "0 */30 * * * *",
        "DELTA_CATCHUP_SCHEDULE": "0 0 0 1 1 *",
    }


def notification(user_id: str, client_state: str = CLIENT_STATE) -> dict:
    """One `updated` change notification for a user, as Graph POSTs it in `value`."""
    return {
        "subscriptionId": "00000000-0000-4000-8000-0000000000aa",
        "clientState": client_state,
        "changeType": "updated",
        "resource": f"Users/{user_id}",
        "tenantId": "00000000-0000-4000-8000-0000000000bb",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.User",
            "@odata.id": f"Users/{user_id}",
            "id": user_id,
        },
    }


@contextmanager
def running_stack(
    connection: str,
    *,
    users: int = 200,
    seed: int = 21,
    queue: str = "user-changes-e2e",
    overrides: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """Start the emulator and devhost on `connection` (Azurite); the settings are exported to
    os.environ while the stack runs (devhost's app reads them there) and restored after."""
    graph = EmulatorServer(users=users, seed=seed)
    graph.start()
    host = DevHost(
        app="function_app",
        port=free_port(),  # known before start: the upkeep timer runs at start and needs the URLs
        settings=None,
        host_json=ROOT / "tests/devhost/host.json",
        app_dir=ROOT,
    )
    settings = {
        **stack_settings(connection, graph, queue),
        "NOTIFICATION_URL": f"{host.base_url}/api/notifications",
        "LIFECYCLE_NOTIFICATION_URL": f"{host.base_url}/api/lifecycle",
        **(overrides or {}),
    }
    try:
        with exported(settings):
            try:
                host.start()
                yield Stack(graph, host, connection, queue)
            finally:
                host.stop()
    finally:
        graph.stop()


@contextmanager
def exported(settings: Mapping[str, str]) -> Iterator[None]:
    """`settings` in os.environ for the block (devhost's app and child processes read them
    there); they are restored afterwards."""
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def subscribe(stack: Stack, client_state: str = CLIENT_STATE) -> httpx.Response:
    """Create a users subscription on the emulator pointing at the stack's webhook (the
    emulator validates the URL through devhost first); the caller checks the answer."""
    expiry = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return httpx.post(
        f"{stack.graph.base_url}/subscriptions",
        headers={"Authorization": "Bearer e2e"},
        json={
            "changeType": "updated,deleted",
            "notificationUrl": stack.host.url("notifications"),
            "resource": "users",
            "expirationDateTime": expiry,
            "clientState": client_state,
        },
    )

"""The Azurite wrapper: services, explicit connection strings, on-disk persistence, stop."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from azure.storage.queue import QueueClient

from devhost.azurite import Azurite, AzuriteError


def test_session_azurite_answers_on_loopback_with_explicit_endpoints(azurite: Azurite) -> None:
    conn = azurite.connection_string
    assert f"QueueEndpoint=http://127.0.0.1:{azurite.ports['queue']}/devstoreaccount1" in conn
    assert "UseDevelopmentStorage" not in conn
    assert azurite.running


def test_queues_survive_a_restart_with_location(tmp_path: Path) -> None:
    data = tmp_path / "azurite"
    first = Azurite(location=data).start()
    port = first.ports["queue"]
    try:
        with QueueClient.from_connection_string(first.connection_string, "kept") as q:
            q.create_queue()
            q.send_message("still here")
    finally:
        first.stop()
    assert not first.running
    with socket.socket() as sock:  # stopped means the port is closed
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    with (
        Azurite(location=data, ports={"queue": port}) as second,
        QueueClient.from_connection_string(second.connection_string, "kept") as q,
    ):
        assert [m.content for m in q.peek_messages()] == ["still here"]


def test_all_three_services_for_func_start_parity(tmp_path: Path) -> None:
    with Azurite(services=("queue", "blob", "table")) as all_three:
        conn = all_three.connection_string
        for service in ("Blob", "Queue", "Table"):
            assert f"{service}Endpoint=http://127.0.0.1:" in conn
        for port in all_three.ports.values():
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port)) == 0


def test_missing_node_modules_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AzuriteError, match="scripts/setup"):
        Azurite(node_modules=tmp_path).start()
    with pytest.raises(ValueError, match="subset"):
        Azurite(services=("files",))

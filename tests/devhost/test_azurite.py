"""The Azurite wrapper: services, explicit connection strings, on-disk persistence, stop."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from azure.data.tables import TableClient
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


def test_table_writes_just_before_a_stop_survive_the_restart(tmp_path: Path) -> None:
    """Azurite's table store saves to disk every 5 s, and on SIGINT: a stop must not lose
    the last writes (the removal budget lives there)."""
    data = tmp_path / "tables"
    first = Azurite(services=("table",), location=data).start()
    port = first.ports["table"]
    try:
        with TableClient.from_connection_string(first.connection_string, "kept") as table:
            table.create_table()
            table.upsert_entity({"PartitionKey": "p", "RowKey": "r", "Spent": 3})
    finally:
        first.stop()
    with (
        Azurite(services=("table",), location=data, ports={"table": port}) as second,
        TableClient.from_connection_string(second.connection_string, "kept") as table,
    ):
        assert table.get_entity("p", "r")["Spent"] == 3


def test_two_combined_azurites_run_side_by_side() -> None:
    """The combined script also serves the services not asked for, on ports of their own."""
    with (
        Azurite(services=("queue", "table")) as one,
        Azurite(services=("queue", "table")) as two,
    ):
        assert one.running and two.running
        assert "BlobEndpoint" not in one.connection_string
        assert set(one.ports.values()).isdisjoint(two.ports.values())


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

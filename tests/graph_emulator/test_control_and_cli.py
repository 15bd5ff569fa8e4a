"""The /_emulator/ control API, the in-process server modes and `python -m graph_emulator`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from graph_emulator import ControlClient, ControlError, EmulatorServer, sample
from tests.conftest import EMULATOR_USERS as USERS
from tests.graph_emulator.graph_api import Api

ROOT = Path(__file__).resolve().parents[2]


def test_info_lists_the_tenant_and_the_endpoints(graph: EmulatorServer) -> None:
    info = graph.info()
    assert info["users"] == USERS
    assert info["baseUrl"] == graph.base_url
    assert "POST /_emulator/faults" in info["endpoints"]


def test_reset_restores_the_tenant_and_clears_logs_and_plans(
    api: Api, graph: EmulatorServer
) -> None:
    member = api.get(f"/groups/{sample.GUESTS}/members?$select=id&$top=1").json()["value"][0]
    api.delete(f"/groups/{sample.GUESTS}/members/{member['id']}/$ref")
    api.delete(f"/users/{sample.CEO_ID}")
    graph.add_fault(kind="latency", latency_ms=1)
    graph.update_settings(write_quota=5)
    graph.advance_clock(3600)
    graph.reset()
    assert api.get(f"/users/{sample.CEO_ID}").status_code == 200
    members = {m["id"] for m in api.all_pages(f"/groups/{sample.GUESTS}/members?$select=id")}
    assert member["id"] in members
    assert graph.faults() == [] and graph.writes() == []
    assert graph.settings()["writeQuota"] is None
    assert graph.counters()["graphCalls"] == 2  # the two reads above


def test_export_and_load_round_trip(api: Api, graph: EmulatorServer) -> None:
    api.patch(f"/users/{sample.CEO_ID}", {"department": "Board"})
    exported = graph.export_tenant()
    assert exported["format"] == "graph-emulator-tenant"
    graph.generate_tenant(users=10, seed=2)
    assert graph.info()["users"] == 10
    graph.load_tenant(exported)
    ceo = api.get(f"/users/{sample.CEO_ID}?$select=department").json()
    assert ceo["department"] == "Board"
    graph.reset()  # the loaded document is the new reset point
    assert api.get(f"/users/{sample.CEO_ID}?$select=department").json()["department"] == "Board"
    with pytest.raises(ControlError) as caught:
        graph.load_tenant({"users": "nope"})
    assert caught.value.status == 400


def test_bad_settings_are_refused(graph: EmulatorServer) -> None:
    with pytest.raises(ControlError):
        graph.update_settings(no_such_setting=1)
    with pytest.raises(ControlError):
        graph.update_settings(batch_response_order="random")
    assert graph.update_settings(batch_response_order="request")["batchResponseOrder"] == "request"


def test_request_log_since_a_sequence_number(api: Api, graph: EmulatorServer) -> None:
    api.get("/users?$top=1")
    first = graph.requests()
    api.get("/groups?$top=1")
    later = graph.requests(since=first[-1]["seq"])
    assert [(e["method"], e["route"], e["status"]) for e in later] == [("GET", "/groups", 200)]
    graph.clear_requests()
    assert graph.requests() == [] and graph.counters()["graphCalls"] == 0


def test_control_client_works_against_a_server_by_its_base_url(graph: EmulatorServer) -> None:
    client = ControlClient(graph.base_url)
    assert client.root_url == graph.root_url
    assert client.info()["tenantId"] == sample.TENANT_ID


async def test_async_mode_serves_on_the_callers_loop() -> None:
    async with EmulatorServer(users=5, seed=3) as server:
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.get(
                f"{server.base_url}/users?$select=id", headers={"Authorization": "Bearer t"}
            )
        assert len(response.json()["value"]) == 5
        with pytest.raises(RuntimeError, match=r"server\.emulator"):
            server.info()  # would deadlock on its own loop
        await server.emulator.reset()


def test_cli_prints_the_listening_line_first_and_serves(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "graph_emulator", "--port", "0", "--users", "7", "--seed", "4"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().rstrip("\n")
        assert line.startswith("Graph emulator listening on http://127.0.0.1:")
        assert line.endswith("/v1.0")
        base_url = line.rsplit(" ", 1)[1]
        assert ControlClient(base_url).info()["users"] == 7
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_cli_exports_a_tenant_that_loads_again(tmp_path: Path) -> None:
    path = tmp_path / "tenant.json"
    command = [sys.executable, "-m", "graph_emulator", "--users", "12", "--export", str(path)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    document = json.loads(path.read_text())
    assert len(document["users"]) == 12
    with EmulatorServer(tenant=path) as server:
        assert server.info()["users"] == 12


def test_cli_help_documents_the_control_api_and_faults() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "graph_emulator", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for text in ("/_emulator/faults", "--tenant", "retryAfter", "pagesOnly", "--write-quota"):
        assert text in result.stdout


def test_cli_reports_a_bad_tenant_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = subprocess.run(
        [sys.executable, "-m", "graph_emulator", "--tenant", str(bad), "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "bad.json" in result.stderr

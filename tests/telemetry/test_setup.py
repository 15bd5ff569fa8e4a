"""The distro is configured only when APPLICATIONINSIGHTS_CONNECTION_STRING is set; then one
message's span, its audit record (with custom dimensions) and the metrics reach the ingestion
endpoint, all under the notification's operation id. The endpoint is a loopback receiver."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("export_child.py")
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


class Ingestion(ThreadingHTTPServer):
    """Application Insights' track endpoint, as far as the exporter needs it."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Track)
        self.envelopes: list[dict] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _Track(BaseHTTPRequestHandler):
    server: Ingestion

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        items = json.loads(body)
        self.server.envelopes += items if isinstance(items, list) else [items]
        count = len(items)
        answer = json.dumps({"itemsReceived": count, "itemsAccepted": count, "errors": []})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ingestion() -> Iterator[Ingestion]:
    server = Ingestion()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_child(environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APPLICATIONINSIGHTS", "OTEL"))}
    env |= {"PYTHONPATH": str(ROOT), **environ}
    return subprocess.run(
        [sys.executable, str(CHILD), TRACE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_without_the_setting_nothing_is_configured_or_imported() -> None:
    child = run_child({})
    assert child.stdout.splitlines()[0] == "disabled"
    assert "azure.monitor.opentelemetry" not in child.stdout
    assert "REFUSED" not in child.stderr


def test_with_the_setting_one_message_reaches_application_insights(ingestion: Ingestion) -> None:
    connection = (
        "InstrumentationKey=00000000-0000-4000-8000-000000000000;"
        f"IngestionEndpoint={ingestion.endpoint}"
    )
    child = run_child(
        {
            "APPLICATIONINSIGHTS_CONNECTION_STRING": connection,
            # the SDK's own usage reports go to Microsoft, and the VM detector asks IMDS:
            # neither is ours to test, and tests stay on loopback
            "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
            "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "otel",
        }
    )
    assert child.stdout.splitlines()[0] == "enabled"
    assert "REFUSED" not in child.stderr, child.stderr
    by_kind: dict[str, list[dict]] = {}
    for envelope in ingestion.envelopes:
        by_kind.setdefault(envelope["data"]["baseType"], []).append(envelope)
    assert "RequestData" in by_kind, (sorted(by_kind), child.stderr[-2000:])
    (request,) = by_kind["RequestData"]  # the consumer span of the queue message
    assert request["data"]["baseData"]["name"] == "reconcile users"
    assert request["tags"]["ai.operation.id"] == TRACE
    (message,) = by_kind["MessageData"]  # the audit record
    properties = message["data"]["baseData"]["properties"]
    assert properties["event"] == "change" and properties["correlationId"] == TRACE
    assert properties["user"] == "30000000-0000-4000-8000-000000000001"
    assert message["tags"]["ai.operation.id"] == TRACE
    metric_names = {
        point["name"]
        for envelope in by_kind.get("MetricData", [])
        for point in envelope["data"]["baseData"]["metrics"]
    }
    assert {"reconciler.membership.changes", "reconciler.write.lag"} <= metric_names

"""One trace per notification on the whole local stack (Azurite, the Graph emulator, devhost
hosting function_app.py in this process): the webhook's correlation id is devhost's
invocation trace id, and the worker's message span and the Graph write under it carry it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from harness.stack import Stack, notification, running_stack
from tests.devhost.fixtures import azurite, wait_until  # noqa: F401 - the session fixture
from tests.telemetry.conftest import Recorded

SALES = "10000000-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def stack(azurite, loopback_only: None) -> Iterator[Stack]:  # noqa: F811
    with running_stack(azurite.connection_string, queue="user-changes-telemetry") as running:
        yield running


def test_a_notification_is_one_trace_from_webhook_to_write(
    stack: Stack, recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = stack.graph.export_tenant()
    sales = set(tenant["members"][SALES])
    joining = next(
        u["id"]
        for u in tenant["users"]
        if u.get("accountEnabled") and u.get("department") != "Sales" and u["id"] not in sales
    )
    stack.graph.patch_user(joining, department="Sales")
    with caplog.at_level(logging.INFO, logger="reconciler.webhook"):
        answer = httpx.post(
            stack.host.url("notifications"), json={"value": [notification(joining)]}
        )
        assert answer.status_code == 202
        wait_until(
            lambda: joining in stack.graph.export_tenant()["members"][SALES],
            what="the membership write",
        )
    webhook = [json.loads(r.getMessage()) for r in caplog.records if r.name == "reconciler.webhook"]
    (correlation_id,) = {r["correlationId"] for r in webhook if r.get("queuedUsers")}
    trace_id = int(correlation_id, 16)

    def spans_of_trace() -> list:
        return [s for s in recorded.finished_spans() if s.context.trace_id == trace_id]

    wait_until(
        lambda: any(s.name == "reconcile users" for s in spans_of_trace()),
        what="the message span to end",
    )
    spans = spans_of_trace()
    message = next(s for s in spans if s.name == "reconcile users")
    assert message.attributes["reconciler.cause"] == "notification"
    assert message.attributes["reconciler.correlation_id"] == correlation_id
    writes = [
        s for s in spans if s.attributes.get("reconciler.graph.kind", "").startswith("members.")
    ]
    assert writes, [s.name for s in spans]
    by_id = {s.context.span_id: s for s in spans}
    for write in writes:  # each write descends from the message span
        parent = write.parent
        while parent is not None and parent.span_id != message.context.span_id:
            parent = by_id[parent.span_id].parent if parent.span_id in by_id else None
        assert parent is not None, f"{write.name} is not under the message span"

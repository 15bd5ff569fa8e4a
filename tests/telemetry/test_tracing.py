"""Spans: a queue message joins its notification's trace; Graph requests are its children."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from reconciler.telemetry.tracing import graph_request_span, message_span
from tests.telemetry.conftest import Recorded

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_message_span_continues_the_notification_trace(recorded: Recorded) -> None:
    with (
        message_span("reconcile users", TRACE, {"reconciler.items": 3}),
        graph_request_span("PATCH", "write"),
    ):
        pass
    write, message = recorded.finished_spans()
    assert message.context.trace_id == int(TRACE, 16)
    assert message.parent is not None and message.parent.is_remote
    assert message.kind is SpanKind.CONSUMER
    assert message.attributes["reconciler.correlation_id"] == TRACE
    assert message.attributes["reconciler.items"] == 3
    assert write.parent is not None and write.parent.span_id == message.context.span_id
    assert write.context.trace_id == int(TRACE, 16)
    assert write.attributes["reconciler.graph.kind"] == "write"


def test_every_message_of_one_notification_has_the_same_parent(recorded: Recorded) -> None:
    for _ in range(2):  # the message and its recheck
        with message_span("reconcile users", TRACE, {}):
            pass
    first, recheck = recorded.finished_spans()
    assert first.parent is not None and recheck.parent is not None
    assert first.parent.span_id == recheck.parent.span_id


def test_an_id_that_is_no_trace_id_starts_a_trace_of_its_own(recorded: Recorded) -> None:
    with message_span("reconcile users", "corr-1", {}):
        pass
    (span,) = recorded.finished_spans()
    assert span.parent is None
    assert span.attributes["reconciler.correlation_id"] == "corr-1"


def test_an_exception_marks_the_message_span_failed(recorded: Recorded) -> None:
    with pytest.raises(RuntimeError), message_span("reconcile users", TRACE, {}):
        raise RuntimeError("Graph unavailable")
    (span,) = recorded.finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert any(event.name == "exception" for event in span.events)

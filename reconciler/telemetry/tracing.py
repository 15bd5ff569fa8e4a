"""Spans for the jobs: one per queue message, as a child of the notification's trace, and one
per Graph request inside it.

The queue message carries no trace context of its own: its `correlationId` is the trace id
(see `correlation`), so the worker's span joins the webhook's trace across the queue. The
parent span id is derived from the correlation id, which gives every message of one
notification (its rechecks included) the same parent. Until a tracer provider is configured
(`setup`), the OpenTelemetry API hands out non-recording spans and this costs next to nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags

from reconciler.telemetry.correlation import is_trace_id

TRACER_NAME = "reconciler"
AttributeValue = str | int | float | bool


def _tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def notification_context(correlation_id: str) -> otel_context.Context | None:
    """The remote parent a correlation id stands for; None for ids that are not trace ids
    (the span then starts a trace of its own)."""
    if not is_trace_id(correlation_id):
        return None
    parent_span_id = int(hashlib.sha256(correlation_id.encode()).hexdigest()[:16], 16) or 1
    parent = SpanContext(
        trace_id=int(correlation_id, 16),
        span_id=parent_span_id,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


@contextmanager
def message_span(
    name: str, correlation_id: str, attributes: Mapping[str, AttributeValue]
) -> Iterator[Span]:
    """The span of one queue message (or timer run); exceptions are recorded on it."""
    with _tracer().start_as_current_span(
        name,
        context=notification_context(correlation_id),
        kind=SpanKind.CONSUMER,
        attributes={"reconciler.correlation_id": correlation_id, **attributes},
    ) as span:
        yield span


@contextmanager
def graph_request_span(method: str, kind: str) -> Iterator[Span]:
    """One Graph request, retries included (the caller sets the final status and attempts)."""
    with _tracer().start_as_current_span(
        f"graph {kind}",
        kind=SpanKind.CLIENT,
        attributes={"http.request.method": method, "reconciler.graph.kind": kind},
    ) as span:
        yield span

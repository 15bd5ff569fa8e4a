"""What the worker wraps around one queue message: its span in the notification's trace and
the moment its write lag counts from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from reconciler.telemetry.metrics import lag_counted_from
from reconciler.telemetry.tracing import AttributeValue, message_span


@contextmanager
def observed_message(
    kind: str, cause: str, correlation_id: str, enqueued_at: datetime, items: int
) -> Iterator[None]:
    attributes: dict[str, AttributeValue] = {
        "reconciler.message.kind": kind,
        "reconciler.cause": cause,
        "reconciler.items": items,
    }
    span = message_span(f"reconcile {kind}", correlation_id, attributes)
    with span, lag_counted_from(enqueued_at):
        yield

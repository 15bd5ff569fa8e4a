"""The numbers operators chart and alert on. Instruments come from the global meter, which
forwards to the provider `setup` configures (or to nothing): recording is always safe.

- `reconciler.membership.changes` {change}: action (add, remove), result (done, planned,
  paused, held, withheld), cause;
- `reconciler.holds` {hold}: groups the mass-removal guard held in a run;
- `reconciler.graph.requests` {request}: kind (read, write, batch, ...), status;
- `reconciler.graph.throttled` {response}: Graph's 429s, by kind;
- `reconciler.write.lag` (s): from the message's `enqueuedAt` (the webhook's receipt of the
  notification) to the membership write; Graph's own delivery delay comes before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from opentelemetry import metrics

_meter = metrics.get_meter("reconciler")

membership_changes = _meter.create_counter(
    "reconciler.membership.changes", unit="{change}", description="Membership changes by result"
)
holds = _meter.create_counter(
    "reconciler.holds", unit="{hold}", description="Groups held by the mass-removal guard"
)
graph_requests = _meter.create_counter(
    "reconciler.graph.requests", unit="{request}", description="Graph requests by kind"
)
graph_throttled = _meter.create_counter(
    "reconciler.graph.throttled", unit="{response}", description="Graph 429 answers by kind"
)
write_lag = _meter.create_histogram(
    "reconciler.write.lag", unit="s", description="Notification received to membership written"
)

_received_at: ContextVar[datetime | None] = ContextVar("received_at", default=None)


@contextmanager
def lag_counted_from(received_at: datetime) -> Iterator[None]:
    """While a message is worked on, its writes know when its notification arrived."""
    token = _received_at.set(received_at)
    try:
        yield
    finally:
        _received_at.reset(token)


def write_lag_seconds() -> float | None:
    """Seconds since the current message's notification arrived; None outside a message."""
    received_at = _received_at.get()
    if received_at is None:
        return None
    return max(0.0, (datetime.now(UTC) - received_at).total_seconds())


def record_change(action: str, result: str, cause: str, lag_seconds: float | None) -> None:
    """One audited membership change; a written one inside a message also records its lag."""
    membership_changes.add(1, {"action": action, "result": result, "cause": cause})
    if lag_seconds is not None:
        write_lag.record(lag_seconds, {"cause": cause})

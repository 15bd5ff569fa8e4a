"""One id for one notification's whole trip: the correlation id *is* the trace id.

The webhook takes the trace id of the Functions host's own invocation (W3C `traceparent` in
the invocation context), so the host's request telemetry, the queue message's
`correlationId`, the worker's spans and every Graph write share one operation id in
Application Insights. Plain string work: this runs on the webhook's cold path.
"""

from __future__ import annotations

import re
import uuid

_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_INVALID_TRACE_ID = "0" * 32


def correlation_id_from(traceparent: str | None) -> str:
    """The trace id of a valid `traceparent`, else a fresh random id of the same shape."""
    match = _TRACEPARENT.fullmatch((traceparent or "").strip().lower())
    if match and match.group(1) != _INVALID_TRACE_ID:
        return match.group(1)
    return uuid.uuid4().hex


def is_trace_id(correlation_id: str) -> bool:
    """Correlation ids from older messages or from callers may not be trace ids."""
    return bool(_TRACE_ID.fullmatch(correlation_id)) and correlation_id != _INVALID_TRACE_ID

"""The correlation id is the host's trace id, so one notification is one operation."""

from __future__ import annotations

import pytest

from reconciler.telemetry.correlation import correlation_id_from, is_trace_id

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_valid_traceparent_gives_its_trace_id() -> None:
    assert correlation_id_from(f"00-{TRACE}-00f067aa0ba902b7-01") == TRACE
    assert correlation_id_from(f" 00-{TRACE.upper()}-00F067AA0BA902B7-01 ") == TRACE


@pytest.mark.parametrize(
    "traceparent",
    [None, "", "garbage", f"00-{'0' * 32}-00f067aa0ba902b7-01", f"00-{TRACE}-short-01"],
)
def test_anything_else_gives_a_fresh_id_of_the_same_shape(traceparent: str | None) -> None:
    first, second = correlation_id_from(traceparent), correlation_id_from(traceparent)
    assert is_trace_id(first) and is_trace_id(second)
    assert first != second


def test_older_ids_are_not_taken_for_trace_ids() -> None:
    assert is_trace_id(TRACE)
    assert not is_trace_id("corr-1")
    assert not is_trace_id("0" * 32)

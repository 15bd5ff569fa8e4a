"""Retry delays and write pacing, without a network."""

from __future__ import annotations

import time

import pytest

from reconciler.graph.transport import RetryPolicy, WritePacer, parse_retry_after


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("2.128", 2.128), ("0", 0.0), ("-3", 0.0), ("soon", None), (None, None)],
)
def test_retry_after_takes_integer_and_decimal_seconds(header: str | None, seconds) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_takes_an_http_date() -> None:
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 < parse_retry_after(future) <= 30


def test_backoff_doubles_without_retry_after_and_is_capped() -> None:
    policy = RetryPolicy(attempts=8, base_delay=1.0, max_delay=5.0)
    delays = [policy.delay(n, None) for n in range(1, 8)]
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0
    assert max(delays) <= 5.0
    assert policy.delay(1, "120") == 5.0  # a Retry-After beyond the cap waits the cap


async def test_pacer_never_lets_more_than_the_rate_through() -> None:
    clock = [0.0]

    async def fake_sleep(seconds: float) -> None:
        clock[0] += seconds

    pacer = WritePacer(rate=100, sleep=fake_sleep, clock=lambda: clock[0])
    for _ in range(310):
        await pacer.acquire()
    # a burst of 10 (a tenth of a second), then 300 more at 100 per second
    assert clock[0] == pytest.approx(3.0, rel=0.01)
    await pacer.acquire(20)  # a $batch of twenty items costs twenty tokens
    await pacer.acquire()
    assert clock[0] == pytest.approx(3.0 + 0.1 + 0.11, rel=0.01)

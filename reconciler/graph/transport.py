"""Raw Graph calls through the SDK's request adapter: auth kept, retries and pacing ours.

JSON goes through `get_http_response_message` rather than typed models: the first typed
parse costs ~1.7 s on a cold start (local-toolchain.md), and raw responses keep the status,
the Retry-After header and Graph's error body for idempotent-write decisions.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from azure.core.exceptions import ClientAuthenticationError
from opentelemetry.trace import StatusCode

from reconciler.directory import DirectoryError
from reconciler.telemetry import metrics
from reconciler.telemetry.tracing import graph_request_span

RETRYABLE_STATUS = frozenset({429, 503, 504})


@dataclass(frozen=True, slots=True)
class GraphResponse:
    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error_code(self) -> str:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return str(error.get("code", "")) if isinstance(error, dict) else ""

    @property
    def error_message(self) -> str:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return str(error.get("message", "")) if isinstance(error, dict) else ""

    @property
    def request_id(self) -> str:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        inner = error.get("innerError", {}) if isinstance(error, dict) else {}
        return str(inner.get("request-id", "")) or self.headers.get("request-id", "")

    def describe(self) -> str:
        return f"{self.status} {self.error_code}: {self.error_message}".strip()

    def failure(self, doing: str) -> DirectoryError:
        """The DirectoryError for this answer to `doing`, with Graph's status, code and id."""
        return DirectoryError(
            f"{doing}: {self.describe()}",
            status=self.status,
            code=self.error_code,
            request_id=self.request_id,
        )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry 429/503/504 and dropped connections.

    Retry-After (integer or decimal seconds, or an HTTP date) wins; without it the delay
    doubles from `base_delay`, with jitter, capped at `max_delay`.
    """

    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, attempt: int, retry_after: str | None) -> float:
        parsed = parse_retry_after(retry_after)
        if parsed is not None:
            return min(parsed, self.max_delay)
        backoff = self.base_delay * (2 ** (attempt - 1))
        return min(backoff * (0.5 + random.random() / 2), self.max_delay)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


class WritePacer:
    """A token bucket: at most `rate` writes per second, so a large plan causes no 429 storm.

    Each write request costs one token and each item of a $batch one more, as Graph's
    throttling counts them.
    """

    def __init__(
        self,
        rate: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        # A tenth of a second of burst: a quota of W writes per S seconds then holds whenever
        # rate * S + rate / 10 <= W, and a burst never trips Graph's per-window count.
        self._capacity = max(rate / 10, 1.0)
        self._tokens = self._capacity
        self._clock = clock
        self._stamp = clock()
        self._sleep = sleep
        self._lock = asyncio.Lock()

    async def acquire(self, count: int = 1) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                # A batch larger than the burst waits for a full bucket, then goes into debt;
                # the epsilon keeps float rounding from asking for ever smaller sleeps.
                if self._tokens >= min(count, self._capacity) - 1e-9:
                    self._tokens -= count
                    return
                await self._sleep((min(count, self._capacity) - self._tokens) / self.rate)


def _count(kind: str, status: int) -> None:
    metrics.graph_requests.add(1, {"kind": kind, "status": str(status)})
    if status == 429:
        metrics.graph_throttled.add(1, {"kind": kind})


class GraphTransport:
    """Sends one Graph request with retries; counts requests by kind for the run summary."""

    def __init__(
        self,
        client: Any,
        policy: RetryPolicy | None = None,
        pacer: WritePacer | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.adapter = client.request_adapter
        self.base_url = self.adapter.base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.pacer = pacer
        self.sleep = sleep
        self.counts: Counter[str] = Counter()

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    async def call(
        self, method: str, path: str, *, kind: str, body: Any = None, writes: int = 0
    ) -> GraphResponse:
        """The first non-retryable response; DirectoryError once retries are exhausted."""
        last = ""
        with graph_request_span(method, kind) as span:
            for attempt in range(1, self.policy.attempts + 1):
                if writes and self.pacer is not None:
                    await self.pacer.acquire(writes)
                self.counts[kind] += 1
                span.set_attribute("reconciler.graph.attempts", attempt)
                try:
                    response = await self._send(method, self.url(path), body)
                except httpx.TransportError as exc:
                    last = f"connection failed: {type(exc).__name__}: {exc}"
                    metrics.graph_requests.add(1, {"kind": kind, "status": "connection"})
                    await self.sleep(self.policy.delay(attempt, None))
                    continue
                _count(kind, response.status)
                span.set_attribute("http.response.status_code", response.status)
                if response.status not in RETRYABLE_STATUS:
                    return response
                last = response.describe()
                if attempt < self.policy.attempts:
                    retry_after = response.headers.get("retry-after")
                    await self.sleep(self.policy.delay(attempt, retry_after))
            span.set_status(StatusCode.ERROR, last)
        raise DirectoryError(
            f"{method} {path} failed after {self.policy.attempts} attempts: {last}",
            status=0 if last.startswith("connection") else int(last.split()[0]),
        )

    async def _send(self, method: str, url: str, body: Any) -> GraphResponse:
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation

        info = RequestInformation()
        info.http_method = Method[method]
        info.url = url
        if body is not None:
            info.headers.try_add("Content-Type", "application/json")
            info.content = json.dumps(body).encode()
        span = self.adapter.start_tracing_span(info, method)
        try:
            raw = await self.adapter.get_http_response_message(info, span)
        except ClientAuthenticationError as exc:
            raise DirectoryError(
                f"could not get a Graph token ({type(exc).__name__}: {exc.message}); check "
                "GRAPH_CREDENTIAL and the identity's settings"
            ) from None
        finally:
            span.end()
        content = raw.content
        parsed = json.loads(content) if content else None
        return GraphResponse(
            raw.status_code, {k.lower(): v for k, v in raw.headers.items()}, parsed
        )

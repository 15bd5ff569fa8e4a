"""Delivers change and lifecycle notifications to webhook URLs, as Graph's publisher does.

One worker per URL posts `{"value": [...]}`; what piles up while a POST is in flight goes out
together in the next one, mixing subscriptions that share the URL. A POST that fails, answers
non-2xx or takes longer than the timeout (3 s in Graph) is retried a bounded number of times,
then dropped. Before every attempt, items whose subscription has expired or been deleted are
dropped: expired subscriptions stop delivering. Notification faults apply when an item is
submitted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from graph_emulator.faults import FaultPlan
from graph_emulator.settings import Settings

_REORDER_HOLD_SECONDS = 1.0


@dataclass(frozen=True)
class Notification:
    subscription_id: str
    url: str
    item: dict[str, Any]  # one element of the POSTed "value" array
    after_removal: bool = False  # subscriptionRemoved: delivered although the subscription is gone

    @property
    def resource_id(self) -> str | None:
        return (self.item.get("resourceData") or {}).get("id")


@dataclass
class _Endpoint:
    url: str
    pending: deque[Notification] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    held: list[Notification] = field(default_factory=list)
    in_flight: int = 0
    task: asyncio.Task[None] | None = None


class Notifier:
    def __init__(
        self,
        settings: Callable[[], Settings],
        faults: FaultPlan,
        is_live: Callable[[str], bool],
        log_limit: int = 10_000,
    ) -> None:
        self._settings = settings
        self._faults = faults
        self._is_live = is_live
        self._endpoints: dict[str, _Endpoint] = {}
        self._delayed: set[asyncio.TimerHandle] = set()
        self._session: aiohttp.ClientSession | None = None
        self.log: deque[dict[str, Any]] = deque(maxlen=log_limit)
        self._seq = itertools.count(1)

    # ----- lifecycle ----------------------------------------------------------------------

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        await self.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def clear(self) -> None:
        """Forget everything queued (a reset); running workers are cancelled."""
        for handle in self._delayed:
            handle.cancel()
        self._delayed.clear()
        tasks = [e.task for e in self._endpoints.values() if e.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._endpoints.clear()
        self.log.clear()

    def pending(self) -> int:
        """Notifications not yet delivered or dropped: what a test waits to reach zero."""
        queued = sum(len(e.pending) + len(e.held) + e.in_flight for e in self._endpoints.values())
        return queued + len(self._delayed)

    # ----- submitting ---------------------------------------------------------------------

    def submit(self, notification: Notification) -> None:
        copies = 2 if self._settings().duplicate_notifications else 1
        for rule in self._faults.for_notification(notification.url):
            if rule.kind == "drop":
                self._record(notification.url, [notification], outcome="dropped-by-fault")
                return
            if rule.kind == "duplicate":
                copies += 1
            elif rule.kind == "delay":
                self._delay(notification, copies, rule.latency_ms / 1000)
                return
            elif rule.kind == "reorder":
                self._hold(notification)
                return
        for _ in range(copies):
            self._enqueue(notification)

    def _delay(self, notification: Notification, copies: int, seconds: float) -> None:
        handles: list[asyncio.TimerHandle] = []

        def release() -> None:
            self._delayed.discard(handles[0])
            for _ in range(copies):
                self._enqueue(notification)

        handles.append(asyncio.get_running_loop().call_later(seconds, release))
        self._delayed.add(handles[0])

    def _endpoint(self, url: str) -> _Endpoint:
        endpoint = self._endpoints.get(url)
        if endpoint is None:
            endpoint = self._endpoints[url] = _Endpoint(url)
        if endpoint.task is None or endpoint.task.done():
            endpoint.task = asyncio.get_running_loop().create_task(self._work(endpoint))
        return endpoint

    def _enqueue(self, notification: Notification) -> None:
        endpoint = self._endpoint(notification.url)
        endpoint.pending.append(notification)
        # Whatever was held back for reordering goes out after this newer item.
        endpoint.pending.extend(endpoint.held)
        endpoint.held.clear()
        endpoint.wakeup.set()

    def _hold(self, notification: Notification) -> None:
        endpoint = self._endpoint(notification.url)
        endpoint.held.append(notification)

        def flush() -> None:
            if notification in endpoint.held:
                endpoint.held.remove(notification)
                endpoint.pending.append(notification)
                endpoint.wakeup.set()

        asyncio.get_running_loop().call_later(_REORDER_HOLD_SECONDS, flush)

    # ----- delivering ---------------------------------------------------------------------

    async def _work(self, endpoint: _Endpoint) -> None:
        while True:
            await endpoint.wakeup.wait()
            endpoint.wakeup.clear()
            while endpoint.pending:
                settings = self._settings()
                batch = [
                    endpoint.pending.popleft()
                    for _ in range(min(settings.notification_max_per_post, len(endpoint.pending)))
                ]
                endpoint.in_flight = len(batch)
                try:
                    await self._deliver(endpoint.url, batch)
                finally:
                    endpoint.in_flight = 0

    async def _deliver(self, url: str, batch: list[Notification]) -> None:
        attempt = 0
        while True:
            settings = self._settings()
            deliverable = [n.after_removal or self._is_live(n.subscription_id) for n in batch]
            live = [n for n, ok in zip(batch, deliverable, strict=True) if ok]
            if len(live) != len(batch):
                gone = [n for n, ok in zip(batch, deliverable, strict=True) if not ok]
                self._record(url, gone, outcome="subscription-expired-or-deleted")
            batch = live
            if not batch:
                return
            attempt += 1
            status, error = await self._post(url, batch, settings.notification_timeout)
            if status is not None and 200 <= status < 300:
                self._record(url, batch, outcome="delivered", attempt=attempt, status=status)
                return
            if attempt > settings.notification_retries:
                self._record(
                    url, batch, outcome="dropped", attempt=attempt, status=status, error=error
                )
                return
            self._record(
                url, batch, outcome="will-retry", attempt=attempt, status=status, error=error
            )
            delay = settings.notification_retry_delay * (2 ** (attempt - 1))
            await asyncio.sleep(min(delay, 600.0))

    async def _post(
        self, url: str, batch: list[Notification], timeout: float
    ) -> tuple[int | None, str | None]:
        try:
            async with self.session().post(
                url,
                json={"value": [n.item for n in batch]},
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                await response.read()
                return response.status, None
        except TimeoutError:
            return None, f"no answer within {timeout:g} s"
        except (aiohttp.ClientError, OSError) as exc:
            return None, type(exc).__name__

    def _record(
        self,
        url: str,
        batch: list[Notification],
        *,
        outcome: str,
        attempt: int = 0,
        status: int | None = None,
        error: str | None = None,
    ) -> None:
        self.log.append(
            {
                "seq": next(self._seq),
                "time": time.time(),
                "url": url,
                "outcome": outcome,
                "attempt": attempt,
                "status": status,
                "error": error,
                "count": len(batch),
                "subscriptionIds": sorted({n.subscription_id for n in batch}),
                "resourceIds": [n.resource_id for n in batch],
                "kinds": [n.item.get("lifecycleEvent") or n.item.get("changeType") for n in batch],
            }
        )

    def record_lost(self, notification: Notification, reason: str) -> None:
        """Log a notification that was never queued (a paused subscription)."""
        self._record(notification.url, [notification], outcome=reason)

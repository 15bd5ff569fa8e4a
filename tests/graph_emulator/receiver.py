"""A webhook receiver on its own thread, for notification tests written as plain sync tests.

It answers validation requests (correctly, or in a chosen wrong way), records every POST on
arrival, and can fail notification POSTs (`statuses`) or stall the next ones until `release`
is set (`stall_next`). Tests wait with `wait_for`, which blocks on a
condition variable until the predicate holds or the deadline passes: no sleeps.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Received:
    path: str
    query: dict[str, str]
    content_type: str
    text: str

    @property
    def body(self) -> Any:
        return json.loads(self.text)

    @property
    def items(self) -> list[dict[str, Any]]:
        return self.body["value"]


class WebhookReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.validation = "echo"  # echo | wrong | json | error | slow (waits for release)
        self.statuses: list[int] = []  # answers for the next notification POSTs; then 202
        self.stall_next = 0  # how many coming notification POSTs wait for `release`
        self.release = threading.Event()
        self._condition = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    # ----- lifecycle -------------------------------------------------------------------------

    def start(self) -> WebhookReceiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def clear(self) -> None:
        with self._condition:
            self.received.clear()
        self.validation = "echo"
        self.statuses = []
        self.stall_next = 0
        self.release.set()
        self.release = threading.Event()

    def url(self, path: str = "/notify", query: str = "code=function-key") -> str:
        return f"http://127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")

    # ----- serving ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        text = await request.text()
        record = Received(
            request.path, dict(request.query), request.headers.get("Content-Type", ""), text
        )
        with self._condition:
            self.received.append(record)
            self._condition.notify_all()
        token = request.query.get("validationToken")
        if token is not None:
            if self.validation == "slow":
                await self._wait_for_release()
            return self._validation_answer(token)
        if self.stall_next > 0:
            self.stall_next -= 1
            await self._wait_for_release()
        status = self.statuses.pop(0) if self.statuses else 202
        return web.Response(status=status)

    async def _wait_for_release(self) -> None:
        release = self.release
        await asyncio.get_running_loop().run_in_executor(None, release.wait, 10)

    def _validation_answer(self, token: str) -> web.Response:
        if self.validation == "wrong":
            return web.Response(text=token + "x", content_type="text/plain")
        if self.validation == "json":
            return web.json_response(token)
        if self.validation == "error":
            return web.Response(status=500, text=token, content_type="text/plain")
        return web.Response(text=token, content_type="text/plain")

    # ----- waiting ---------------------------------------------------------------------------

    def notifications(self) -> list[Received]:
        with self._condition:
            return [r for r in self.received if "validationToken" not in r.query]

    def validations(self) -> list[Received]:
        with self._condition:
            return [r for r in self.received if "validationToken" in r.query]

    def items(self) -> list[dict[str, Any]]:
        return [item for post in self.notifications() for item in post.items]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Block until `predicate()` holds; fail the test after `timeout` seconds."""
        with self._condition:
            if not self._condition.wait_for(predicate, timeout):
                raise AssertionError(f"condition not met within {timeout} s: {self.received}")

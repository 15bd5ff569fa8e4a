"""Run an asyncio server on a private thread and loop, for sync callers (tests, scripts).

The Graph emulator and devhost both offer `start()`/`stop()` next to their async API; this is
the one place that owns the thread, the loop, start-up failures and shutdown.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable


class LoopThread:
    """`start_async` runs on a new loop in a daemon thread; `stop()` runs `stop_async` there."""

    def __init__(
        self,
        name: str,
        start_async: Callable[[], Awaitable[object]],
        stop_async: Callable[[], Awaitable[object]],
    ) -> None:
        self.name = name
        self._start_async = start_async
        self._stop_async = stop_async
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, timeout: float) -> None:
        """Returns once `start_async` finished; re-raises its exception in the caller."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start_async())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._stop_async())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        if not started.wait(timeout):
            raise TimeoutError(f"{self.name} did not start in time")
        if failure:
            self._thread.join()
            self._thread = self._loop = None
            raise failure[0]

    def stop(self, timeout: float) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._thread = self._loop = None

"""Runs the emulator in-process: on its own thread for sync code, or on the caller's loop.

Sync (pytest fixtures, scripts)::

    with EmulatorServer(users=50, seed=7) as graph:
        graph.base_url                      # http://127.0.0.1:PORT/v1.0
        graph.add_fault(kind="status", status=429, retry_after="1.5", route="/users")
        graph.writes(); graph.counters(); graph.reset()

Async::

    async with EmulatorServer() as graph:
        await graph.emulator.reset()        # same-loop: use the Emulator directly

The control helpers (inherited from ControlClient) speak HTTP to `/_emulator/`, so they are
thread-safe; they refuse to run on the server's own loop, where they would deadlock.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web

from graph_emulator.control_client import ControlClient
from graph_emulator.emulator import Emulator, TenantSource
from graph_emulator.http_app import build_app
from graph_emulator.settings import Settings
from graph_emulator.tenant_document import TenantDocument
from loopthread import LoopThread


def tenant_source(
    tenant: str | Path | TenantDocument = "sample",
    *,
    users: int = 200,
    seed: int = 1,
    extra_groups: int = 0,
) -> TenantSource:
    """`"sample"` generates from users/seed; a path or document is loaded as it is."""
    if isinstance(tenant, TenantDocument):
        return TenantSource(document=tenant, seed=seed)
    if str(tenant) == "sample":
        return TenantSource(users=users, seed=seed, extra_groups=extra_groups)
    return TenantSource(document=TenantDocument.read(Path(tenant)), seed=seed)


class EmulatorServer(ControlClient):
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        users: int = 200,
        seed: int = 1,
        tenant: str | Path | TenantDocument = "sample",
        extra_groups: int = 0,
        settings: Settings | None = None,
        **setting_overrides: Any,
    ) -> None:
        super().__init__(f"http://{host}:{port}")
        self.host = host
        self.port = port
        self._source = tenant_source(tenant, users=users, seed=seed, extra_groups=extra_groups)
        base = settings or Settings()
        self._settings = Settings(**{**base.__dict__, **setting_overrides})
        self._emulator: Emulator | None = None
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: LoopThread | None = None

    # ----- addresses -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What GRAPH_BASE_URL and the SDK's request_adapter.base_url should be."""
        return f"{self.root_url}/v1.0"

    @property
    def emulator(self) -> Emulator:
        if self._emulator is None:
            raise RuntimeError("the emulator is not started")
        return self._emulator

    # ----- async lifecycle (on the caller's loop) --------------------------------------------

    async def start_async(self) -> str:
        self._emulator = Emulator(self._source, self._settings)
        self._runner = web.AppRunner(build_app(self._emulator), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.root_url = f"http://{self.host}:{self.port}"
        self._emulator.base_url = self.base_url
        self._loop = asyncio.get_running_loop()
        return self.base_url

    async def stop_async(self) -> None:
        if self._emulator is not None:
            await self._emulator.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> EmulatorServer:
        await self.start_async()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop_async()

    # ----- threaded lifecycle (for sync code) ------------------------------------------------

    def start(self, timeout: float = 120.0) -> str:
        """Start on a private thread and loop; returns the base URL once it listens."""
        self._background = LoopThread("graph-emulator", self.start_async, self.stop_async)
        self._background.start(timeout)
        return self.base_url

    def stop(self, timeout: float = 30.0) -> None:
        if self._background is not None:
            self._background.stop(timeout)
            self._background = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----- control helpers -------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        if self._loop is not None and self._loop_is_current():
            raise RuntimeError(
                "control helpers block; on the server's own loop use server.emulator instead"
            )
        return super()._request(method, path, body)

    def _loop_is_current(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

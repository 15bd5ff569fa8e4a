"""DevHost: hosts a v2 Python function app locally (HTTP, queue and timer triggers, queue outputs)
the way the Functions host does, for machines without Core Tools.

In a test or script, on its own thread::

    host = DevHost(app="function_app", host_json="host.json", settings=None, port=0).start()
    host.base_url        # http://127.0.0.1:PORT  (HTTP triggers under /api/...)
    host.stop()

or on the caller's loop: `async with DevHost(...) as host: ...`. `python -m devhost` is the CLI.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from devhost import rpc
from devhost.binding_data import TriggerInput
from devhost.catalog import Catalog, FunctionSpec, build_catalog
from devhost.config import AppSettings, ConfigError, HostOptions, load_local_settings, read_values
from devhost.http_triggers import HttpFront, Keys
from devhost.invocation import Invoker, Outcome
from devhost.queues import LEASE_SECONDS, QueueListener, QueueService
from devhost.timers import TimerRunner
from devhost.worker import Worker
from loopthread import LoopThread

log = logging.getLogger("devhost")

HOST = "127.0.0.1"
FUNCTION_KEY_SETTING = "DEVHOST_FUNCTION_KEY"
MASTER_KEY_SETTING = "DEVHOST_MASTER_KEY"


class DevHost:
    def __init__(
        self,
        *,
        app: str = "function_app",
        port: int = 7071,
        settings: str | os.PathLike[str] | None = "local.settings.json",
        host_json: str | os.PathLike[str] | None = "host.json",
        require_keys: bool = False,
        app_dir: str | os.PathLike[str] | None = None,
        environ: MutableMapping[str, str] | None = None,
        stop_timeout: float = 30.0,
        queue_lease_seconds: int = LEASE_SECONDS,
        principal: str | None = None,
    ) -> None:
        self.app_path = app
        self.port = port
        self.settings_path = settings
        self.host_json = host_json
        self.require_keys = require_keys
        self.app_dir = Path(app_dir) if app_dir else Path.cwd()
        self.environ = os.environ if environ is None else environ
        self.stop_timeout = stop_timeout
        self.queue_lease_seconds = queue_lease_seconds
        self.principal = principal  # X-MS-CLIENT-PRINCIPAL value to send (devhost/easy_auth.py)
        self.catalog: dict[str, FunctionSpec] = {}
        self.errors: dict[str, str] = {}  # functions in error: name -> why the host skips it
        self.settings = AppSettings({}, {})
        self.options = HostOptions()
        self.keys = Keys(False, "", "")
        self.started_at: datetime | None = None
        self._added_settings: list[str] = []
        self._runner: web.AppRunner | None = None
        self._front: HttpFront | None = None
        self._queues: QueueService | None = None
        self._invoker: Invoker | None = None
        self._worker: Worker | None = None
        self._listeners: list[QueueListener] = []
        self._timers: list[TimerRunner] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._timer_tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: LoopThread | None = None

    # ----- addresses -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, spec_or_name: FunctionSpec | str) -> str:
        spec = self.catalog[spec_or_name] if isinstance(spec_or_name, str) else spec_or_name
        assert self._front is not None
        return self.base_url + self._front.url_path(spec)

    # ----- async lifecycle -------------------------------------------------------------------

    async def start_async(self) -> DevHost:
        self._loop = asyncio.get_running_loop()
        values = read_values(self.settings_path)
        # The host's settings are fixed before the app is imported: what the app's import puts
        # into its own environment is never seen by the real host (another process).
        self.settings = AppSettings(values, dict(self.environ))
        self._added_settings = load_local_settings(values, self.environ)
        try:
            await self._start()
        except BaseException:
            await self.stop_async()
            raise
        return self

    async def _start(self) -> None:
        self.options = HostOptions.load(self.host_json)
        self._worker = Worker(self.app_dir, script_file(self.app_path))
        catalog: Catalog = build_catalog(await self._worker.start(), self.settings)
        self.catalog, self.errors = catalog.functions, catalog.errors
        for name, why in self.errors.items():
            log.error("The '%s' function is in error: %s", name, why)
        self.keys = Keys(
            self.require_keys,
            self.settings.get(FUNCTION_KEY_SETTING) or secrets.token_urlsafe(24),
            self.settings.get(MASTER_KEY_SETTING) or secrets.token_urlsafe(24),
        )
        self._invoker = Invoker(self._worker, timeout=self.options.function_timeout)
        self._queues = QueueService(self.settings, self.options.queues)
        self._front = HttpFront(
            self.catalog,
            route_prefix=self.options.route_prefix,
            keys=self.keys,
            invoke=self._invoker.invoke,
            write_outputs=self.write_outputs,
            status=self.status,
            principal=self.principal,
        )
        self._runner = web.AppRunner(
            self._front.application(), access_log=None, shutdown_timeout=self.stop_timeout
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, HOST, self.port).start()
        self.port = self._runner.addresses[0][1]
        for spec in self.catalog.values():
            if spec.trigger == "queue":
                listener = QueueListener(
                    spec,
                    self._queues,
                    self._invoker,
                    self.write_outputs,
                    lease_seconds=self.queue_lease_seconds,
                )
                self._listeners.append(listener)
                self._tasks.append(asyncio.create_task(listener.run(), name=spec.name))
            elif spec.trigger == "timer":
                runner = TimerRunner(spec, self._invoke_and_write)
                self._timers.append(runner)
                self._timer_tasks.append(asyncio.create_task(runner.run(), name=spec.name))
        self.started_at = datetime.now(UTC)

    async def stop_async(self) -> None:
        """Stop taking requests and messages, let running invocations finish (bounded), close."""
        for runner in self._timers:
            runner.stop()
        drains: list[Any] = [listener.stop() for listener in self._listeners]
        drains += self._timer_tasks
        if self._runner is not None:
            drains.append(self._runner.cleanup())  # stops accepting, finishes requests in flight
        if self._front is not None:
            drains += list(self._front.background)
        if drains:
            await asyncio.wait(
                [asyncio.ensure_future(d) for d in drains], timeout=self.stop_timeout
            )
        for task in [*self._tasks, *self._timer_tasks]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._timer_tasks, return_exceptions=True)
        if self._queues is not None:
            await self._queues.close()
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        for name in self._added_settings:
            self.environ.pop(name, None)
        self._added_settings = []
        self._runner = None
        self._listeners, self._timers, self._tasks, self._timer_tasks = [], [], [], []

    async def __aenter__(self) -> DevHost:
        return await self.start_async()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop_async()

    # ----- threaded lifecycle (for sync code and tests) ----------------------------------------

    def start(self, timeout: float = 60.0) -> DevHost:
        """Start on a private thread and loop; returns once HTTP listens and listeners run."""
        self._background = LoopThread("devhost", self.start_async, self.stop_async)
        self._background.start(timeout)
        return self

    def stop(self) -> None:
        if self._background is not None:
            self._background.stop(self.stop_timeout + 10)
            self._background = None

    def __enter__(self) -> DevHost:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----- what the parts share --------------------------------------------------------------

    async def write_outputs(self, spec: FunctionSpec, values: Mapping[str, rpc.TypedData]) -> None:
        assert self._queues is not None
        await self._queues.write_outputs(spec.outputs, values)

    async def _invoke_and_write(
        self, spec: FunctionSpec, value: TriggerInput, reason: str
    ) -> Outcome:
        assert self._invoker is not None
        outcome = await self._invoker.invoke(spec, value, reason)
        if outcome.succeeded:
            try:
                await self.write_outputs(spec, outcome.outputs)
            except Exception as exc:
                outcome.error = str(exc)
        return outcome

    def status(self) -> dict[str, Any]:
        return {
            "state": "Running" if self._runner is not None else "Stopped",
            "version": "devhost",
            "functions": sorted(self.catalog),
            "errors": [
                f"The '{name}' function is in error: {why}" for name, why in self.errors.items()
            ],
            "startedAt": self.started_at.isoformat() if self.started_at else None,
        }

    def describe(self) -> str:
        """The start-up table: every function with its route, queue or schedule."""
        rows = []
        for spec in sorted(self.catalog.values(), key=lambda s: (s.trigger, s.name)):
            if spec.trigger == "http":
                detail = f"{','.join(spec.methods)} {self.url(spec)}  [authLevel {spec.auth_level}]"
            elif spec.trigger == "queue":
                poison = spec.poison_queue or "none"
                detail = f"queue '{spec.queue}' (poison: {poison})"
            else:
                assert spec.schedule is not None
                nxt = spec.schedule.next_after(datetime.now(UTC)).isoformat(timespec="seconds")
                detail = f"schedule '{spec.schedule.text}' (UTC; next {nxt})"
            for output in spec.outputs:
                detail += f"  -> queue '{output.queue}'"
            rows.append((spec.name, spec.trigger, detail))
        for name, why in sorted(self.errors.items()):
            rows.append((name, "ERROR", why))
        width = max((len(r[0]) for r in rows), default=8)
        lines = [f"  {name:<{width}}  {kind:<5}  {detail}" for name, kind, detail in rows]
        q = self.options.queues
        lines.append(
            f"  queues: batchSize {q.batch_size}, newBatchThreshold "
            f"{q.effective_new_batch_threshold}, maxPollingInterval "
            f"{_seconds(q.max_polling_interval)}, visibilityTimeout "
            f"{_seconds(q.visibility_timeout)}, maxDequeueCount {q.max_dequeue_count}, "
            f"messageEncoding {q.message_encoding}"
        )
        admin = f'  admin: POST {self.base_url}/admin/functions/<name> {{"input": "..."}}'
        lines.append(admin)
        if self.require_keys:
            lines.append(
                f"  function key: {self.keys.function_key}  (header x-functions-key or ?code=)"
            )
            lines.append(f"  master key:   {self.keys.master_key}")
        return "\n".join(["Functions:", *lines])


def script_file(app: str) -> str:
    """The script file the worker loads from the app directory (PYTHON_SCRIPT_FILE_NAME):
    `function_app` or `function_app.py`. The worker imports a file, not a dotted module."""
    name = app if app.endswith(".py") else f"{app}.py"
    if "/" in name or ":" in name or "." in name[:-3]:
        raise ConfigError(
            f"--app {app!r}: the worker loads a script file from the app directory "
            "(PYTHON_SCRIPT_FILE_NAME), e.g. function_app.py; put the app's directory in "
            "--app-dir and give its file name here"
        )
    return name


def _seconds(span: timedelta) -> str:
    return f"{span.total_seconds():g} s"

"""The HTTP side of the host: HTTP triggers under `/<routePrefix>/<route>` with auth-level checks,
and the admin API (`POST /admin/functions/{name}`, `GET /admin/host/status`)."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from devhost import easy_auth
from devhost.binding_data import (
    OutputError,
    TriggerInput,
    http_answer,
    http_input,
    queue_input,
    timer_input,
)
from devhost.catalog import FunctionSpec
from devhost.invocation import Outcome
from devhost.routes import RouteTemplate

log = logging.getLogger("devhost")
CALLED = "This function was programmatically called via the host APIs."
MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the host's default maxRequestBodySize (100 MB)

Invoke = Callable[[FunctionSpec, TriggerInput, str], Awaitable[Outcome]]
WriteOutputs = Callable[[FunctionSpec, Any], Awaitable[None]]


@dataclass(frozen=True)
class Keys:
    """Function keys. `required=False` is Core Tools' local behaviour: nothing is checked."""

    required: bool
    function_key: str
    master_key: str

    def allows(self, request: web.Request, auth_level: str) -> bool:
        if not self.required or auth_level == "ANONYMOUS":
            return True
        given = request.headers.get("x-functions-key") or request.query.get("code") or ""
        accepted = (
            [self.master_key] if auth_level == "ADMIN" else [self.function_key, self.master_key]
        )
        return any(hmac.compare_digest(given.encode(), key.encode()) for key in accepted)


def to_response(outcome: Outcome) -> web.Response:
    """The host's answer from the worker's `$return` data."""
    answer = http_answer(outcome.return_value)
    response = web.Response(status=answer.status, body=answer.body)
    for name, value in answer.headers:
        response.headers.add(name, value)
    return response


class HttpFront:
    def __init__(
        self,
        catalog: dict[str, FunctionSpec],
        *,
        route_prefix: str,
        keys: Keys,
        invoke: Invoke,
        write_outputs: WriteOutputs,
        status: Callable[[], dict[str, Any]],
        principal: str | None = None,
    ) -> None:
        self.catalog = catalog
        self.prefix = route_prefix.strip("/")
        self.keys = keys
        self.invoke = invoke
        self.write_outputs = write_outputs
        self.status = status
        self.principal = principal
        self.background: set[asyncio.Task[Any]] = set()
        http_functions = [s for s in catalog.values() if s.trigger == "http"]
        self.routes = sorted(
            ((RouteTemplate.parse(s.route), s) for s in http_functions),
            key=lambda pair: pair[0].precedence,
        )

    def url_path(self, spec: FunctionSpec) -> str:
        return "/" + "/".join(p for p in (self.prefix, spec.route) if p)

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_get("/admin/host/status", self.host_status)
        app.router.add_post("/admin/functions/{name}", self.admin_invoke)
        app.router.add_route("*", "/{tail:.*}", self.http_trigger)
        return app

    def _match(self, path: str, method: str) -> tuple[FunctionSpec | None, dict[str, str]]:
        prefix = f"/{self.prefix}" if self.prefix else ""
        if prefix and not (path.lower() == prefix or path.lower().startswith(prefix + "/")):
            return None, {}
        rest = path[len(prefix) :]
        for template, spec in self.routes:
            params = template.match(rest)
            if params is not None and method in spec.methods:
                return spec, params
        # Functions answers 404 (not 405) when only the method differs.
        return None, {}

    async def http_trigger(self, request: web.Request) -> web.Response:
        spec, params = self._match(request.path, request.method)
        if spec is None:
            return web.Response(status=404)
        if not self.keys.allows(request, spec.auth_level):
            return web.Response(status=401)
        body = await request.read()
        headers = dict(request.headers.items())
        if self.principal is not None:
            # As App Service Authentication does: the platform's principal replaces any copy
            # the client sent.
            headers = {k: v for k, v in headers.items() if k.lower() != "x-ms-client-principal"}
            headers[easy_auth.HEADER] = self.principal
        trigger = http_input(
            request.method,
            str(request.url),
            headers,
            dict(request.query.items()),
            params,
            body,
        )
        outcome = await self.invoke(spec, trigger, CALLED)
        if not outcome.succeeded:
            return web.Response(status=500)
        try:
            await self.write_outputs(spec, outcome.outputs)
            return to_response(outcome)
        except OutputError as exc:
            # Output bindings are written after the function returns; if one fails, the
            # invocation fails and the caller gets 500, so Graph retries the notification.
            log.error("Executed 'Functions.%s' (Failed: %s)", spec.name, exc)
            return web.Response(status=500)

    async def host_status(self, request: web.Request) -> web.Response:
        if not self.keys.allows(request, "ADMIN"):
            return web.Response(status=401)
        return web.json_response(self.status())

    async def admin_invoke(self, request: web.Request) -> web.Response:
        """Run a non-HTTP function now, as the host's admin API does; answers 202 at once."""
        if not self.keys.allows(request, "ADMIN"):
            return web.Response(status=401)
        spec = self.catalog.get(request.match_info["name"])
        if spec is None:
            lowered = {name.lower(): s for name, s in self.catalog.items()}
            spec = lowered.get(request.match_info["name"].lower())
        if spec is None:
            return web.Response(status=404)
        if spec.trigger == "http":
            return web.json_response(
                {"error": "HTTP functions are called on their route, not through the admin API"},
                status=400,
            )
        raw = await request.read()
        try:
            document = json.loads(raw) if raw.strip() else {}
            text = document.get("input", "") if isinstance(document, dict) else None
        except json.JSONDecodeError:
            text = None
        if not isinstance(text, str):
            return web.json_response({"error": 'body must be {"input": "..."}'}, status=400)
        if spec.trigger == "queue":
            value = queue_input(message_id=str(uuid.uuid4()), body=text.encode(), dequeue_count=1)
        else:
            value = timer_input()
        task = asyncio.create_task(self._run_admin(spec, value))
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return web.Response(status=202)

    async def _run_admin(self, spec: FunctionSpec, value: TriggerInput) -> None:
        outcome = await self.invoke(spec, value, CALLED)
        if outcome.succeeded:
            try:
                await self.write_outputs(spec, outcome.outputs)
            except OutputError as exc:
                log.error("Executed 'Functions.%s' (Failed: %s)", spec.name, exc)

"""The aiohttp application: turns HTTP into calls for the Graph routes and the control API.

It collapses the `//` the SDK puts after `/v1.0`, lower-cases header names, checks the bearer
token (any non-empty token is accepted), and writes replies with Graph's headers.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import replace

from aiohttp import web

from graph_emulator import control, errors
from graph_emulator.calls import Call, Reply
from graph_emulator.emulator import Emulator
from graph_emulator.errors import GraphError

JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)
_WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/'
    'authorize", client_id="00000003-0000-0000-c000-000000000000"'
)
_SLASHES = re.compile("/+")


def _authentication_error(authorization: str | None) -> GraphError | None:
    if not authorization or not authorization.strip():
        return GraphError(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty.",
            headers={"WWW-Authenticate": _WWW_AUTHENTICATE},
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return GraphError(
            401,
            "InvalidAuthenticationToken",
            "CompactToken parsing failed with error code: 80049217",
            headers={"WWW-Authenticate": _WWW_AUTHENTICATE},
        )
    return None


async def _send(request: web.Request, reply: Reply, call: Call) -> web.StreamResponse:
    headers = {
        "request-id": call.request_id,
        "client-request-id": call.client_request_id,
        "Cache-Control": "no-cache",
        **reply.headers,
    }
    if reply.body is None:
        return web.Response(status=reply.status, headers=headers)
    if isinstance(reply.body, str):
        data = reply.body.encode()
        headers["Content-Type"] = "text/plain; charset=utf-8"
    else:
        data = json.dumps(reply.body, separators=(",", ":")).encode()
        headers["Content-Type"] = JSON_TYPE
    if not reply.disconnect:
        return web.Response(status=reply.status, body=data, headers=headers)
    # A fault: promise the whole body, send half, then drop the connection.
    response = web.StreamResponse(status=reply.status, headers=headers)
    response.content_length = len(data)
    await response.prepare(request)
    await response.write(data[: len(data) // 2])
    if request.transport is not None:
        request.transport.close()
    return response


def build_app(emulator: Emulator) -> web.Application:
    async def dispatch(request: web.Request) -> web.StreamResponse:
        path = _SLASHES.sub("/", request.path)
        headers = {name.lower(): value for name, value in request.headers.items()}
        call = Call(
            method=request.method.upper(),
            path=path,
            query=dict(request.query),
            headers=headers,
            body=await request.read(),
            request_id=str(uuid.uuid4()),
            client_request_id=headers.get("client-request-id") or str(uuid.uuid4()),
        )
        first, _, rest = path.lstrip("/").partition("/")
        if first == "_emulator":
            call = replace(call, path="/" + rest)
            return await _send(request, await control.handle(emulator, call), call)
        if first.lower() != "v1.0":
            error = errors.GraphError(400, "BadRequest", f"Invalid version: {first}")
            return await _send(request, emulator.error_reply(error, call), call)
        call = replace(call, path="/" + rest)
        problem = _authentication_error(headers.get("authorization"))
        if problem is not None:
            reply = emulator.error_reply(problem, call)
            emulator.requests.record(
                method=call.method,
                path=call.path,
                route="(unauthenticated)",
                status=reply.status,
                batch_id=None,
                started=time.perf_counter(),
                fault=None,
                request_id=call.request_id,
            )
            return await _send(request, reply, call)
        return await _send(request, await emulator.handle(call), call)

    app = web.Application(client_max_size=1024**3)  # tenant documents can be large
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app

"""`POST /$batch`: up to 20 requests, run through the same dispatcher as direct requests.

Graph's rules: ids are unique strings; `dependsOn` orders items and a failed dependency gives
424; an item with a body must say its Content-Type; each item is throttled and counted on its
own; responses come back in any order (shuffled here by default, so clients match by id); the
outer status is 200 whenever the batch itself could be read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from graph_emulator import errors
from graph_emulator.calls import Call, Reply
from graph_emulator.errors import GraphError
from graph_emulator.routing import Router

if TYPE_CHECKING:
    from graph_emulator.emulator import Emulator

MAX_REQUESTS = 20
_METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


def register(router: Router) -> None:
    router.add("POST", "/$batch")(run_batch)


def _bad_batch(message: str) -> GraphError:
    # Documented: a malformed batch is a 400 for the whole request. The wording is made up.
    return GraphError(400, "BadRequest", message)


def _item_path(url: Any) -> tuple[str, dict[str, str]]:
    if not isinstance(url, str) or not url.strip():
        raise _bad_batch("Every batch request needs a relative 'url'.")
    parts = urlsplit(url)
    path = re.sub("/+", "/", "/" + parts.path.lstrip("/"))
    if path.lower().startswith(("/v1.0/", "/beta/")):
        path = path[path.index("/", 1) :]
    return path, dict(parse_qsl(parts.query, keep_blank_values=True))


def _item_body(raw: Any) -> bytes:
    if raw is None:
        return b""
    if isinstance(raw, str):  # binary bodies travel base64-encoded
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return raw.encode()
    return json.dumps(raw).encode()


def _validate(requests: Any) -> list[dict[str, Any]]:
    if not isinstance(requests, list) or not requests:
        raise _bad_batch("The batch needs a non-empty 'requests' array.")
    if len(requests) > MAX_REQUESTS:
        raise _bad_batch(
            f"The batch has {len(requests)} requests; at most {MAX_REQUESTS} are allowed."
        )
    ids: set[str] = set()
    for item in requests:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise _bad_batch("Every batch request needs a string 'id'.")
        if item["id"] in ids:
            raise _bad_batch(f"The batch request id '{item['id']}' is used more than once.")
        ids.add(item["id"])
        if str(item.get("method", "")).upper() not in _METHODS:
            raise _bad_batch(f"Batch request '{item['id']}' has no valid 'method'.")
        _item_path(item.get("url"))
    for item in requests:
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list) or any(d not in ids or d == item["id"] for d in depends):
            raise _bad_batch(f"Batch request '{item['id']}' depends on an unknown request id.")
    return requests


def _waves(requests: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Groups of items whose dependencies all ran in earlier groups; a cycle is an error."""
    done: set[str] = set()
    remaining = list(requests)
    waves = []
    while remaining:
        ready = [r for r in remaining if set(r.get("dependsOn") or []) <= done]
        if not ready:
            raise _bad_batch("The batch's dependsOn references form a cycle.")
        waves.append(ready)
        done.update(r["id"] for r in ready)
        remaining = [r for r in remaining if r["id"] not in done]
    return waves


def _item_reply(item_id: str, reply: Reply) -> dict[str, Any]:
    headers = dict(reply.headers)
    response: dict[str, Any] = {"id": item_id, "status": reply.status, "headers": headers}
    if reply.body is not None:
        headers.setdefault(
            "Content-Type",
            "text/plain" if isinstance(reply.body, str) else "application/json",
        )
        response["body"] = reply.body
    return response


async def _run_item(emu: Emulator, outer: Call, item: dict[str, Any]) -> Reply:
    headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
    request_id = str(uuid.uuid4())
    client_request_id = headers.get("client-request-id", outer.client_request_id)
    path, query = _item_path(item["url"])
    call = Call(
        method=str(item["method"]).upper(),
        path=path,
        query=query,
        headers=headers,
        body=_item_body(item.get("body")),
        request_id=request_id,
        client_request_id=client_request_id,
        batch_id=outer.request_id,
    )
    if item.get("body") is not None and "content-type" not in headers:
        # Documented rule (a body needs a Content-Type header); the wording is made up.
        error = GraphError(
            400, "BadRequest", "A batch request with a body must have a Content-Type header."
        )
        return emu.error_reply(error, call)
    if path.lower().rstrip("/") == "/$batch":
        return emu.error_reply(_bad_batch("A batch cannot contain another batch."), call)
    return await emu.handle(call)


async def run_batch(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    requests = _validate(call.json_object().get("requests"))
    replies: dict[str, Reply] = {}
    for wave in _waves(requests):
        runnable = []
        for item in wave:
            failed = [d for d in item.get("dependsOn") or [] if replies[d].status >= 400]
            if failed:
                # Documented status; the body is made up in Graph's shape.
                error = GraphError(
                    424,
                    "FailedDependency",
                    f"Request '{item['id']}' depends on request '{failed[0]}', which failed.",
                )
                replies[item["id"]] = Reply(
                    424,
                    errors.error_body(
                        error.code, error.message, str(uuid.uuid4()), call.client_request_id
                    ),
                )
            else:
                runnable.append(item)
        results = await asyncio.gather(*(_run_item(emu, call, item) for item in runnable))
        for item, reply in zip(runnable, results, strict=True):
            replies[item["id"]] = reply
    responses = [_item_reply(item["id"], replies[item["id"]]) for item in requests]
    if emu.settings.batch_response_order == "shuffled":
        emu.batch_rng.shuffle(responses)
    return Reply(200, {"responses": responses})

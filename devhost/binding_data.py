"""The data the host puts on the wire for each trigger (TypedData and trigger metadata, as the
Functions host fills an InvocationRequest), and what it makes of the worker's answer: an HTTP
response, or the messages of a queue output. The worker's converters (azure.functions' own)
turn these into func.HttpRequest, func.QueueMessage, func.TimerRequest and back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from devhost import rpc


class OutputError(RuntimeError):
    """An output binding could not be written (the host fails the invocation: HTTP 500)."""


@dataclass(frozen=True)
class TriggerInput:
    """The trigger's parameter data and the trigger metadata that go with it."""

    data: rpc.TypedData
    metadata: dict[str, rpc.TypedData]


def http_input(
    method: str,
    url: str,
    headers: dict[str, str],
    query: dict[str, str],
    route_params: dict[str, str],
    body: bytes,
) -> TriggerInput:
    """An HTTP request. The worker declares RawHttpBodyBytes and RpcHttpTriggerMetadataRemoved,
    so the host sends the body as bytes and no trigger metadata."""
    http = rpc.RpcHttp(
        method=method,
        url=url,
        headers=headers,
        query=query,
        params=route_params,
        body=rpc.TypedData(bytes=body),
    )
    return TriggerInput(rpc.TypedData(http=http), {})


def queue_input(
    *,
    message_id: str,
    body: bytes,
    dequeue_count: int,
    pop_receipt: str | None = None,
    inserted: datetime | None = None,
    expires: datetime | None = None,
    next_visible: datetime | None = None,
) -> TriggerInput:
    """A queue message: its body as a string when it is UTF-8 text, else as bytes; the message's
    properties as trigger metadata (dates as JSON strings, as the host serializes them)."""
    try:
        data = rpc.TypedData(string=body.decode("utf-8"))
    except UnicodeDecodeError:
        data = rpc.TypedData(bytes=body)
    metadata = {
        "Id": rpc.TypedData(string=message_id),
        # The worker reads metadata numbers from JSON (Datum has no `int` kind for metadata).
        "DequeueCount": rpc.TypedData(json=json.dumps(dequeue_count)),
    }
    if pop_receipt is not None:
        metadata["PopReceipt"] = rpc.TypedData(string=pop_receipt)
    for name, moment in (
        ("InsertionTime", inserted),
        ("ExpirationTime", expires),
        ("NextVisibleTime", next_visible),
    ):
        if moment is not None:
            metadata[name] = rpc.TypedData(json=json.dumps(moment.isoformat()))
    return TriggerInput(data, metadata)


def timer_input(
    past_due: bool = False, last: datetime | None = None, next_: datetime | None = None
) -> TriggerInput:
    """The TimerInfo JSON the host sends a timer trigger."""
    now = datetime.now(UTC)
    info = {
        "Schedule": {"AdjustForDST": True},
        "ScheduleStatus": {
            "Last": (last or now).isoformat(),
            "Next": (next_ or now).isoformat(),
            "LastUpdated": now.isoformat(),
        },
        "IsPastDue": past_due,
    }
    return TriggerInput(rpc.TypedData(json=json.dumps(info)), {})


def python_value(data: rpc.TypedData | None) -> Any:
    """An output's value as the host reads it: text, bytes, or parsed JSON (a list for several
    queue messages)."""
    if data is None:
        return None
    kind = data.WhichOneof("data")
    if kind == "json":
        return json.loads(data.json)
    if kind in ("string", "bytes", "int", "double"):
        return getattr(data, kind)
    raise OutputError(f"the host cannot write {kind} data to this binding")


def queue_messages(data: rpc.TypedData) -> list[bytes]:
    """The messages a queue output writes: one for text or bytes, one per item of a JSON list
    (objects as their JSON text, as the host's queue binding serializes them)."""
    value = python_value(data)
    items = value if isinstance(value, list) else [value]
    messages = []
    for item in items:
        if isinstance(item, bytes):
            messages.append(item)
        elif isinstance(item, str):
            messages.append(item.encode("utf-8"))
        else:
            messages.append(json.dumps(item).encode("utf-8"))
    return messages


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_answer(data: rpc.TypedData | None) -> HttpAnswer:
    """The host's response for an HTTP function's `$return`: an RpcHttp as it is, a string as a
    200 text/plain body. The worker has already refused what it cannot encode."""
    kind = data.WhichOneof("data") if data is not None else None
    if kind == "string":
        assert data is not None
        return HttpAnswer(
            200, [("Content-Type", "text/plain; charset=utf-8")], data.string.encode("utf-8")
        )
    if kind != "http":
        raise OutputError(f"an HTTP function's $return must be an HTTP response, not {kind}")
    assert data is not None
    http = data.http
    headers = list((http.headers or {}).items())
    headers += [("Set-Cookie", _set_cookie(cookie)) for cookie in http.cookies or []]
    body = python_value(http.body) if http.body is not None else b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return HttpAnswer(int(http.status_code or 200), headers, body or b"")


def _set_cookie(cookie: rpc.RpcHttpCookie) -> str:
    parts = [f"{cookie.name}={cookie.value}"]
    for attribute, nullable in (("Domain", cookie.domain), ("Path", cookie.path)):
        if nullable is not None:
            parts.append(f"{attribute}={nullable.value}")
    if cookie.expires is not None:
        expires = datetime.fromtimestamp(cookie.expires.value.seconds, UTC)
        parts.append(f"Expires={format_datetime(expires, usegmt=True)}")
    if cookie.max_age is not None:
        parts.append(f"Max-Age={int(cookie.max_age.value)}")
    if cookie.secure is not None and cookie.secure.value:
        parts.append("Secure")
    if cookie.http_only is not None and cookie.http_only.value:
        parts.append("HttpOnly")
    same_site = {1: "Lax", 2: "Strict", 3: "None"}.get(cookie.same_site or 0)
    if same_site:
        parts.append(f"SameSite={same_site}")
    return "; ".join(parts)

"""The work-queue message schema (version 1): build, encode to JSON text, decode strictly.

Messages name work, never decisions (DESIGN.md principle 1): user ids to re-read, group ids to
reconcile, or a maintenance action. `encode` returns plain JSON; the Functions output binding
(and the host, for the queue trigger) apply the base64 wire encoding, so nothing here does.
This module imports only the standard library: the webhook imports it on every cold start.

    {"v": 1, "kind": "users", "userIds": [...], "cause": "notification", "correlationId": "...",
     "enqueuedAt": "2026-11-25T06:15:08.123456Z"}
    {"v": 1, "kind": "group", "groupIds": [...], ...}
    {"v": 1, "kind": "maintenance", "action": "renew-subscription", ...}
    (actions: renew-subscription, recreate-subscription, catch-up; cause catchup for the
    users a delta catch-up found changed)

Unknown fields are ignored on decode, so a field can be added without a new version; a change
that old workers would misread needs a new `v`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeVar

from reconciler.object_id import group_id, user_id
from reconciler.telemetry.correlation import correlation_id_from

VERSION = 1
MAX_IDS = 200
"""Ids per message: 200 GUIDs are about 8 KB of JSON, 11 KB in base64, well inside Azure
Storage's 64 KB message limit; larger sets are split across messages."""
MAX_ID_LENGTH = 256
CAUSES = ("notification", "sync", "recheck", "sweep", "catchup")
ACTIONS = ("renew-subscription", "recreate-subscription", "catch-up")
"""renew-subscription (reauthorizationRequired), recreate-subscription (subscriptionRemoved:
create it anew, then catch up), catch-up (missed: a delta catch-up)."""

Cause = Literal["notification", "sync", "recheck", "sweep", "catchup"]

T = TypeVar("T")


class MessageError(ValueError):
    """A queue message that cannot be decoded or built; the text says what and where."""


@dataclass(frozen=True, slots=True)
class UsersMessage:
    """Re-read these users and converge every managed group for them."""

    user_ids: tuple[str, ...]
    cause: str
    correlation_id: str
    enqueued_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "user_ids", _normal(self.user_ids, user_id))
        _check_ids(self.user_ids, "userIds")
        _check_envelope(self.cause, self.correlation_id, self.enqueued_at)


@dataclass(frozen=True, slots=True)
class GroupMessage:
    """Reconcile these groups fully (what `POST /api/sync/groups/{id}` enqueues)."""

    group_ids: tuple[str, ...]
    cause: str
    correlation_id: str
    enqueued_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "group_ids", _normal(self.group_ids, group_id))
        _check_ids(self.group_ids, "groupIds")
        _check_envelope(self.cause, self.correlation_id, self.enqueued_at)


@dataclass(frozen=True, slots=True)
class MaintenanceMessage:
    """A housekeeping job; `subscription_id` says which subscription asked, when one did."""

    action: str
    cause: str
    correlation_id: str
    enqueued_at: datetime
    subscription_id: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise MessageError(f"action: {self.action!r} is not one of {', '.join(ACTIONS)}")
        _check_envelope(self.cause, self.correlation_id, self.enqueued_at)
        if self.subscription_id is not None and not _is_id(self.subscription_id):
            raise MessageError("subscriptionId: must be a non-empty string without spaces")


Message = UsersMessage | GroupMessage | MaintenanceMessage


def new_correlation_id(traceparent: str | None = None) -> str:
    """The trace id of the invocation's `traceparent` when there is one (one id for the
    notification's whole trip, README "Telemetry"), else a fresh one."""
    return correlation_id_from(traceparent)


def users_messages(
    user_ids: Iterable[str],
    *,
    cause: Cause,
    correlation_id: str | None = None,
    now: datetime | None = None,
) -> list[UsersMessage]:
    """One message per chunk of at most 200 ids, in order; none for an empty set."""
    ids = tuple(user_ids)
    correlation_id = correlation_id or new_correlation_id()
    enqueued_at = now or datetime.now(UTC)
    return [
        UsersMessage(ids[start : start + MAX_IDS], cause, correlation_id, enqueued_at)
        for start in range(0, len(ids), MAX_IDS)
    ]


def group_messages(
    group_ids: Iterable[str],
    *,
    cause: Cause,
    correlation_id: str | None = None,
    now: datetime | None = None,
) -> list[GroupMessage]:
    """One message per chunk of at most 200 group ids; none for an empty set."""
    ids = tuple(group_ids)
    correlation_id = correlation_id or new_correlation_id()
    enqueued_at = now or datetime.now(UTC)
    return [
        GroupMessage(ids[start : start + MAX_IDS], cause, correlation_id, enqueued_at)
        for start in range(0, len(ids), MAX_IDS)
    ]


def maintenance_message(
    action: str,
    *,
    cause: Cause,
    subscription_id: str | None = None,
    correlation_id: str | None = None,
    now: datetime | None = None,
) -> MaintenanceMessage:
    return MaintenanceMessage(
        action,
        cause,
        correlation_id or new_correlation_id(),
        now or datetime.now(UTC),
        subscription_id,
    )


def encode(message: Message) -> str:
    """The message as compact JSON text (the binding or queue client adds base64)."""
    document: dict[str, object] = {"v": VERSION}
    if isinstance(message, UsersMessage):
        document.update(kind="users", userIds=list(message.user_ids))
    elif isinstance(message, GroupMessage):
        document.update(kind="group", groupIds=list(message.group_ids))
    elif isinstance(message, MaintenanceMessage):
        document.update(kind="maintenance", action=message.action)
        if message.subscription_id is not None:
            document["subscriptionId"] = message.subscription_id
    else:
        raise MessageError(f"cannot encode {type(message).__name__}; expected a queue message")
    document["cause"] = message.cause
    document["correlationId"] = message.correlation_id
    document["enqueuedAt"] = _timestamp(message.enqueued_at)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def decode(text: str | bytes) -> Message:
    """Parse a message body (already base64-decoded by the host) or raise MessageError.

    Unknown `v` or `kind`, garbage, missing fields, an empty or over-long id list: MessageError.
    The worker poisons such a message at once rather than retrying it (INTERFACES.md).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise MessageError("message: not UTF-8 text (was it base64-decoded?)") from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise MessageError(f"message: not JSON: {text[:60]!r}") from None
    if not isinstance(document, dict):
        raise MessageError("message: must be a JSON object")
    version = document.get("v")
    if type(version) is not int or version != VERSION:  # True == 1 in Python; not a version
        raise MessageError(f"v: unsupported message version {version!r}; this worker reads 1")
    kind = document.get("kind")
    common = (
        _field(document, "cause", str),
        _field(document, "correlationId", str),
        _parse_timestamp(_field(document, "enqueuedAt", str)),
    )
    if kind == "users":
        return UsersMessage(_id_list(document, "userIds"), *common)
    if kind == "group":
        return GroupMessage(_id_list(document, "groupIds"), *common)
    if kind == "maintenance":
        subscription_id = document.get("subscriptionId")
        if subscription_id is not None and not isinstance(subscription_id, str):
            raise MessageError("subscriptionId: must be a string")
        return MaintenanceMessage(_field(document, "action", str), *common, subscription_id)
    raise MessageError(f"kind: unknown message kind {kind!r}; expected users, group or maintenance")


def _field(document: dict[str, object], name: str, kind: type[T]) -> T:
    if name not in document:
        raise MessageError(f"{name}: missing")
    value = document[name]
    if not isinstance(value, kind):
        raise MessageError(f"{name}: must be a {kind.__name__}, not {type(value).__name__}")
    return value


def _id_list(document: dict[str, object], name: str) -> tuple[str, ...]:
    value = _field(document, name, list)
    return tuple(value)  # element checks run in __post_init__


def _normal(ids: tuple[str, ...], normal: Callable[[str], str]) -> tuple[str, ...]:
    """The ids as the reconciler compares them (object_id.py), normalised once here, where
    they enter the worker; elements that are not text are left for the checks to refuse."""
    return tuple(normal(i) if isinstance(i, str) else i for i in ids)


def _check_ids(ids: tuple[str, ...], name: str) -> None:
    if not ids:
        raise MessageError(f"{name}: empty; a message names at least one id")
    if len(ids) > MAX_IDS:
        raise MessageError(f"{name}: {len(ids)} ids; a message holds at most {MAX_IDS}")
    for index, value in enumerate(ids):
        if not _is_id(value):
            raise MessageError(
                f"{name}[{index}]: {value!r} is not an id (a non-empty string without spaces, "
                f"at most {MAX_ID_LENGTH} characters)"
            )


def _is_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_ID_LENGTH
        and not any(c.isspace() for c in value)
    )


def _check_envelope(cause: object, correlation_id: object, enqueued_at: object) -> None:
    if cause not in CAUSES:
        raise MessageError(f"cause: {cause!r} is not one of {', '.join(CAUSES)}")
    if not isinstance(correlation_id, str) or not correlation_id:
        raise MessageError("correlationId: must be a non-empty string")
    if not isinstance(enqueued_at, datetime) or enqueued_at.utcoffset() is None:
        raise MessageError("enqueuedAt: must be a time with a zone")


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse_timestamp(text: object) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        raise MessageError(f"enqueuedAt: {text!r} is not an ISO-8601 time") from None
    if moment.utcoffset() is None:
        raise MessageError(f"enqueuedAt: {text!r} has no zone; write it in UTC with Z")
    return moment

"""Graph webhook payloads, read as pure data: handshake, change and lifecycle notifications.

Nothing here does I/O or logging; function_app.py turns the results into HTTP answers, queue
messages and log records. Facts relied on are in graph-facts.md §2-§4: the validation token
arrives URL-decoded in the query string and is echoed as text/plain; user notifications are
basic (only the user's id); `clientState` is the only proof that an item comes from Graph; a
user subscription is documented to receive only `reauthorizationRequired`, but
`subscriptionRemoved` and `missed` are acted on too (they cost nothing when they never come).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.json_kinds import json_kind
from reconciler.settings import SettingsError

MAX_VALIDATION_TOKEN_LENGTH = 1024
"""INTERFACES.md: a token of 1 to 1,024 characters is echoed; anything else gets 400."""

MAX_BODY_BYTES = 4 * 1024 * 1024
"""A webhook body above 4 MiB is refused (413) before JSON parsing. Graph documents no maximum
of items per POST; a basic user notification in Graph's shape with a 128-character clientState
is 648 bytes compact and about 712 pretty-printed, so 2,000 items (the largest batch we plan
for) are 1.24-1.47 MiB and the limit holds 5,400-6,400 of them, while bounding what anyone who
can reach the URL makes us parse: a full 4 MiB body takes the webhook about 30 ms, 2,000 items
about 9 ms (bench/bench_webhook_body.py)."""

RENEW_SUBSCRIPTION = "renew-subscription"
RECREATE_SUBSCRIPTION = "recreate-subscription"
CATCH_UP = "catch-up"
DROP_REASONS = ("clientState", "type", "resource")
"""Why an item was dropped, counted per reason in the log record (never in the answer):
no or wrong clientState; not an object, or a field missing or of the wrong type; a resource
that names no user in a form we know."""

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# graph-facts.md §3: `resource` reads "Users/{id}" (capital U); the subscription is on "users".
_USER_RESOURCE = re.compile(r"/?users/([^/]+)", re.IGNORECASE)
_USER_TYPE = "#microsoft.graph.user"


class NotificationError(ValueError):
    """A webhook body that is not a valid Graph notification; `.where` is a JSON path."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


class BodyTooLarge(NotificationError):
    """A webhook body over MAX_BODY_BYTES; function_app.py answers 413."""


@dataclass(frozen=True, slots=True)
class Handshake:
    """The answer to a validation request (`?validationToken=`): status, text/plain body."""

    status: int
    body: str
    mimetype: str = "text/plain"


@dataclass(frozen=True, slots=True)
class LifecycleNotice:
    """One lifecycle notification: what Graph said, the maintenance action it needs (if any),
    and a sentence for the log that tells an operator what happens next."""

    subscription_id: str
    event: str
    action: str | None
    note: str


@dataclass(frozen=True, slots=True)
class WebhookBatch:
    """What one webhook POST asks for: change and lifecycle items may share it.

    `user_ids`: de-duplicated (lower-case, first-seen order) ids of authentic user changes;
    `notices`: authentic lifecycle items; `accepted`: authentic items of either kind;
    `ignored`: authentic change items about something other than a user (not enqueued);
    `dropped`: items dropped, counted per reason of DROP_REASONS;
    `subscription_ids`: the distinct subscription ids of accepted items, for the log record.
    """

    user_ids: tuple[str, ...]
    notices: tuple[LifecycleNotice, ...]
    accepted: int
    ignored: int
    dropped: Mapping[str, int]
    subscription_ids: tuple[str, ...]

    @property
    def rejected(self) -> int:
        return sum(self.dropped.values())

    @property
    def actions(self) -> tuple[tuple[str, str], ...]:
        """Distinct (action, subscription id) pairs of the lifecycle items, first-seen order."""
        pairs = {(n.action, n.subscription_id): None for n in self.notices if n.action}
        return tuple(pairs)


class _Dropped(Exception):
    """One item is dropped; `reason` is one of DROP_REASONS."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def handshake(token: str) -> Handshake:
    """Answer a validation request: echo the token byte for byte (real tokens hold spaces and
    colons), or 400 with the reason when it is empty or longer than 1,024 characters.

    The echo is served as text/plain (function_app.py adds `nosniff`), so a token holding
    markup is never rendered as HTML.
    """
    if 1 <= len(token) <= MAX_VALIDATION_TOKEN_LENGTH:
        return Handshake(200, token)
    return Handshake(
        400,
        f"validationToken must be 1 to {MAX_VALIDATION_TOKEN_LENGTH:,} characters long; "
        f"this one has {len(token):,}",
    )


def client_state_matches(received: object, expected: str) -> bool:
    """Constant-time comparison of an item's clientState with the CLIENT_STATE setting."""
    if not isinstance(received, str):
        return False  # graph-facts.md §1: a subscription without one delivers null
    return hmac.compare_digest(received.encode("utf-8"), expected.encode("utf-8"))


def read_notifications(body: bytes | str, *, client_state: str) -> WebhookBatch:
    """Read a webhook POST `{"value": [...]}` holding change and/or lifecycle items.

    Only the body as a whole can fail (NotificationError: too large, not UTF-8 or JSON, not an
    object with a `value` array). Each item is judged on its own: one whose clientState does
    not match, that is not an object or has a field missing or of the wrong type, or whose
    resource names no user in a known form is dropped and counted under its reason, and the
    good items around it are kept. clientState is checked first, so nothing about an
    unauthenticated item is judged beyond that. Lenient where graph-facts.md §4 says real
    lifecycle payloads differ from the docs (organizationId, `"resource": ""`, a top-level
    `validationTokens`). Raises SettingsError when CLIENT_STATE is empty (fail closed).
    """
    _require_client_state(client_state)
    user_ids: dict[str, None] = {}
    subscriptions: dict[str, None] = {}
    notices: list[LifecycleNotice] = []
    dropped = dict.fromkeys(DROP_REASONS, 0)
    accepted = ignored = 0
    for item in _value_items(body):
        try:
            fields = _authentic(item, client_state)
            if "lifecycleEvent" in fields:
                notice = _lifecycle_item(fields)
                subscription_id, user_id = notice.subscription_id, None
            else:
                notice = None
                subscription_id, user_id = _change_item(fields)
        except _Dropped as drop:
            dropped[drop.reason] += 1
            continue
        accepted += 1
        subscriptions[subscription_id] = None
        if notice is not None:
            notices.append(notice)
        elif user_id is None:
            ignored += 1
        else:
            user_ids[user_id] = None
    return WebhookBatch(
        user_ids=tuple(user_ids),
        notices=tuple(notices),
        accepted=accepted,
        ignored=ignored,
        dropped={reason: count for reason, count in dropped.items() if count},
        subscription_ids=tuple(subscriptions),
    )


def lifecycle_notice(event: str, subscription_id: str) -> LifecycleNotice:
    """What each lifecycle event makes the worker do (graph-facts.md §4), and why."""
    if event == "reauthorizationRequired":
        note = (
            "Graph asks to reauthorize the subscription; a renew-subscription message is "
            "queued (renewing also reauthorizes), then a delta catch-up re-reads the users "
            "changed while delivery may have been paused."
        )
        return LifecycleNotice(subscription_id, event, RENEW_SUBSCRIPTION, note)
    if event == "subscriptionRemoved":
        note = (
            "Graph removed the subscription; a recreate-subscription message is queued: the "
            "worker creates a new one, then a delta catch-up re-reads the users changed meanwhile."
        )
        return LifecycleNotice(subscription_id, event, RECREATE_SUBSCRIPTION, note)
    if event == "missed":
        note = (
            "Graph could not deliver some change notifications; a catch-up message is queued: "
            "a delta query re-reads the users changed since the last catch-up."
        )
        return LifecycleNotice(subscription_id, event, CATCH_UP, note)
    note = "Unknown lifecycle event; nothing was done. Check Graph's lifecycle documentation."
    return LifecycleNotice(subscription_id, event, None, note)


def _require_client_state(client_state: str) -> None:
    if not client_state:
        raise SettingsError("CLIENT_STATE is not set; add it to the app settings")


def _value_items(body: bytes | str) -> list[object]:
    size = len(body) if isinstance(body, bytes) else len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise BodyTooLarge("body", f"has {size:,} bytes; at most {MAX_BODY_BYTES:,} are accepted")
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise NotificationError("body", f"is not UTF-8 (byte {error.start})") from None
    try:
        document = json.loads(body)
    except json.JSONDecodeError as error:
        raise NotificationError(
            "body", f"is not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except (ValueError, RecursionError) as error:  # e.g. a 5,000-digit number, deep nesting
        raise NotificationError("body", f"is not a usable JSON document: {error}") from None
    if not isinstance(document, dict):
        raise NotificationError("body", f"must be a JSON object, not {json_kind(document)}")
    if "value" not in document:
        raise NotificationError("body", 'has no "value" array')
    items = document["value"]
    if not isinstance(items, list):
        raise NotificationError("value", f"must be an array, not {json_kind(items)}")
    return items


def _authentic(item: object, client_state: str) -> Mapping[str, object]:
    """The item's fields when its clientState matches; a non-object cannot carry one."""
    if not isinstance(item, dict):
        raise _Dropped("type")
    if not client_state_matches(item.get("clientState"), client_state):
        raise _Dropped("clientState")
    return item


def _lifecycle_item(fields: Mapping[str, object]) -> LifecycleNotice:
    """The subscription id goes into a queue message, so it must be one (Graph's are GUIDs):
    anything else would make the message unbuildable and fail the whole POST."""
    subscription_id = _string(fields, "subscriptionId")
    if _GUID.fullmatch(subscription_id) is None:
        raise _Dropped("type")
    return lifecycle_notice(_string(fields, "lifecycleEvent"), subscription_id)


def _change_item(fields: Mapping[str, object]) -> tuple[str, str | None]:
    """(subscription id, user id or None when the item is about another resource type)."""
    subscription_id = _string(fields, "subscriptionId")
    _string(fields, "changeType")
    resource = _string(fields, "resource", allow_empty=True)
    data = fields.get("resourceData")
    if data is None:
        return subscription_id, _user_id_from_resource(resource)
    if not isinstance(data, dict):
        raise _Dropped("type")
    odata_type = data.get("@odata.type")
    if odata_type is not None:
        if not isinstance(odata_type, str):
            raise _Dropped("type")
        if odata_type.lower() != _USER_TYPE:
            return subscription_id, None  # another resource; not ours to enqueue
    if "id" not in data:
        return subscription_id, _user_id_from_resource(resource)
    return subscription_id, _guid(data["id"])


def _user_id_from_resource(resource: str) -> str:
    match = _USER_RESOURCE.fullmatch(resource)
    if match is None:
        raise _Dropped("resource")
    return _guid(match.group(1))


def _guid(value: object) -> str:
    if not isinstance(value, str):
        raise _Dropped("type")
    if _GUID.fullmatch(value) is None:
        raise _Dropped("resource")
    return value.lower()


def _string(fields: Mapping[str, object], name: str, *, allow_empty: bool = False) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or (not value and not allow_empty):
        raise _Dropped("type")
    return value

"""Graph webhook payloads, read as pure data: handshake, change and lifecycle notifications.

Nothing here does I/O or logging; function_app.py turns the results into HTTP answers, queue
messages and log records. Facts relied on are in graph-facts.md §2-§4: the validation token
arrives URL-decoded in the query string and is echoed as text/plain; user notifications are
basic (only the user's id); `clientState` is the only proof that an item comes from Graph; a
user subscription receives only the `reauthorizationRequired` lifecycle event.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from reconciler.json_kinds import json_kind
from reconciler.settings import SettingsError

MAX_VALIDATION_TOKEN_LENGTH = 1024
"""INTERFACES.md: a token of 1 to 1,024 characters is echoed; anything else gets 400."""

MAX_BODY_BYTES = 4 * 1024 * 1024
"""A webhook body above 4 MiB is refused (413) before JSON parsing. Graph documents no maximum
of items per POST; a basic user notification in Graph's shape with a 128-character clientState
is 648 bytes compact and 710 pretty-printed, so 2,000 items (the largest batch we plan for) are
1.3-1.4 MiB and the limit holds about 5,900 of them, while bounding what anyone who can reach
the URL makes us parse (4 MiB parses in about 40 ms; bench/bench_webhook_body.py)."""

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
class NotificationBatch:
    """What one change-notification POST asks for, after the clientState check.

    `user_ids`: de-duplicated (lower-case, first-seen order) ids of the accepted items;
    `accepted`: items whose clientState matched; `rejected_client_state`: items dropped;
    `ignored`: accepted items about something other than a user (not enqueued);
    `unknown_subscriptions`: accepted items whose subscription id is not a known one (only
    counted when known ids are given: the webhook is stateless, INTERFACES.md "Routes");
    `subscription_ids`: the distinct subscription ids of accepted items, for the log record.
    """

    user_ids: tuple[str, ...]
    accepted: int
    rejected_client_state: int
    ignored: int = 0
    unknown_subscriptions: int = 0
    subscription_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LifecycleNotice:
    """One lifecycle notification: what Graph said, the maintenance action it needs (if any),
    and a sentence for the log that tells an operator what happens next."""

    subscription_id: str
    event: str
    action: str | None
    note: str


@dataclass(frozen=True, slots=True)
class LifecycleBatch:
    notices: tuple[LifecycleNotice, ...]
    rejected_client_state: int

    @property
    def actions(self) -> tuple[tuple[str, str], ...]:
        """Distinct (action, subscription id) pairs, in first-seen order."""
        pairs = {(n.action, n.subscription_id): None for n in self.notices if n.action}
        return tuple(pairs)


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


def read_change_notifications(
    body: bytes | str,
    *,
    client_state: str,
    known_subscription_ids: Collection[str] | None = None,
) -> NotificationBatch:
    """Read a change-notification POST: `{"value": [...]}`.

    Strict: a body that is not JSON, or any item with a wrong type or a missing field, raises
    NotificationError naming the field; nothing is partially accepted. Items whose clientState
    does not match are dropped and counted. Raises SettingsError when CLIENT_STATE is empty
    (fail closed: without a secret nothing could be authenticated).
    """
    _require_client_state(client_state)
    items = _value_items(body)
    parsed = [_change_item(item, f"value[{index}]") for index, item in enumerate(items)]

    user_ids: dict[str, None] = {}
    subscriptions: dict[str, None] = {}
    accepted = rejected = ignored = unknown = 0
    for item_client_state, subscription_id, user_id in parsed:
        if not client_state_matches(item_client_state, client_state):
            rejected += 1
            continue
        accepted += 1
        subscriptions[subscription_id] = None
        if known_subscription_ids is not None and subscription_id not in known_subscription_ids:
            unknown += 1
        if user_id is None:
            ignored += 1
        else:
            user_ids[user_id] = None
    return NotificationBatch(
        user_ids=tuple(user_ids),
        accepted=accepted,
        rejected_client_state=rejected,
        ignored=ignored,
        unknown_subscriptions=unknown,
        subscription_ids=tuple(subscriptions),
    )


def read_lifecycle_notifications(body: bytes | str, *, client_state: str) -> LifecycleBatch:
    """Read a lifecycle-notification POST, checking clientState item by item.

    Lenient where graph-facts.md §4 says real payloads differ from the docs (organizationId
    instead of tenantId, `"resource": ""`, a top-level `validationTokens`); strict about what
    we act on: each item needs string `lifecycleEvent` and `subscriptionId`.
    """
    _require_client_state(client_state)
    items = _value_items(body)
    parsed = []
    for index, item in enumerate(items):
        where = f"value[{index}]"
        fields = _object(item, where)
        event = _string(fields, "lifecycleEvent", where)
        subscription_id = _string(fields, "subscriptionId", where)
        parsed.append((_client_state_field(fields, where), event, subscription_id))

    notices = []
    rejected = 0
    for item_client_state, event, subscription_id in parsed:
        if client_state_matches(item_client_state, client_state):
            notices.append(_lifecycle_notice(event, subscription_id))
        else:
            rejected += 1
    return LifecycleBatch(tuple(notices), rejected)


def _lifecycle_notice(event: str, subscription_id: str) -> LifecycleNotice:
    if event == "reauthorizationRequired":
        note = (
            "Graph asks to reauthorize the subscription; a renew-subscription message is "
            "queued (renewing also reauthorizes). Until then delivery may pause."
        )
        return LifecycleNotice(subscription_id, event, RENEW_SUBSCRIPTION, note)
    if event == "subscriptionRemoved":
        note = (
            "Graph removed the subscription; the subscription upkeep timer creates a new one "
            "and the next full reconciliation repairs changes missed meanwhile."
        )
    elif event == "missed":
        note = (
            "Graph could not deliver some change notifications; the next full reconciliation "
            "repairs the memberships they would have changed."
        )
    else:
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


def _change_item(item: object, where: str) -> tuple[object, str, str | None]:
    """(clientState as sent, subscription id, user id or None when not about a user)."""
    fields = _object(item, where)
    if "lifecycleEvent" in fields:
        raise NotificationError(
            where,
            "is a lifecycle notification; Graph sends those to the lifecycle URL "
            "(/api/lifecycle), which must be set when the subscription is created",
        )
    client_state = _client_state_field(fields, where)
    subscription_id = _string(fields, "subscriptionId", where)
    _string(fields, "changeType", where)
    resource = _string(fields, "resource", where, allow_empty=True)
    resource_data = fields.get("resourceData")
    if resource_data is None:
        return client_state, subscription_id, _user_id_from_resource(resource, where)
    data = _object(resource_data, f"{where}.resourceData")
    odata_type = data.get("@odata.type")
    if odata_type is not None:
        if not isinstance(odata_type, str):
            raise NotificationError(
                f"{where}.resourceData.@odata.type",
                f"must be a string, not {json_kind(odata_type)}",
            )
        if odata_type.lower() != _USER_TYPE:
            return client_state, subscription_id, None  # another resource; not ours to enqueue
    if "id" not in data:
        return client_state, subscription_id, _user_id_from_resource(resource, where)
    return client_state, subscription_id, _guid(data["id"], f"{where}.resourceData.id")


def _user_id_from_resource(resource: str, where: str) -> str:
    match = _USER_RESOURCE.fullmatch(resource)
    if match is None:
        raise NotificationError(
            f"{where}.resource",
            f"names no user ({resource[:80]!r}) and resourceData.id is missing; "
            "expected Users/{id}",
        )
    return _guid(match.group(1), f"{where}.resource")


def is_guid(value: str) -> bool:
    """An Entra object id: a GUID in its 8-4-4-4-12 form (any case)."""
    return _GUID.fullmatch(value) is not None


def _guid(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise NotificationError(where, f"must be a string user id, not {json_kind(value)}")
    if not is_guid(value):
        raise NotificationError(where, f"is not a user object id (a GUID): {value[:80]!r}")
    return value.lower()


def _object(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise NotificationError(where, f"must be a JSON object, not {json_kind(value)}")
    return value


def _string(
    fields: Mapping[str, object], name: str, where: str, *, allow_empty: bool = False
) -> str:
    if name not in fields:
        raise NotificationError(f"{where}.{name}", "is missing")
    value = fields[name]
    if not isinstance(value, str):
        raise NotificationError(f"{where}.{name}", f"must be a string, not {json_kind(value)}")
    if not value and not allow_empty:
        raise NotificationError(f"{where}.{name}", "is empty")
    return value


def _client_state_field(fields: Mapping[str, object], where: str) -> object:
    """clientState must be present; a string, or null (a subscription made without one)."""
    if "clientState" not in fields:
        raise NotificationError(f"{where}.clientState", "is missing")
    value = fields["clientState"]
    if value is not None and not isinstance(value, str):
        raise NotificationError(f"{where}.clientState", f"must be a string, not {json_kind(value)}")
    return value

"""Change-notification subscriptions on users: Graph's fields, limits and error answers."""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from graph_emulator.errors import GraphError

MAX_EXPIRATION_MINUTES = 41_760  # users, groups and other directory resources
MAX_CLIENT_STATE = 128
MAX_PER_APP_AND_TENANT = 100
TLS_VERSIONS = ("v1_0", "v1_1", "v1_2", "v1_3")


def format_datetime(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_datetime(text: Any) -> datetime:
    if not isinstance(text, str):
        raise ValueError("not a string")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Subscription:
    id: str
    resource: str
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    expiration: datetime
    client_state: str | None
    tls_version: str
    application_id: str
    paused: bool = False  # after a reauthorizationRequired with pause: changes are lost

    @property
    def user_id(self) -> str | None:
        """The one user watched by `users/{id}`, or None for every user."""
        parts = self.resource.strip("/").split("/")
        return parts[1] if len(parts) == 2 else None

    def watches(self, user_id: str, change_type: str) -> bool:
        return change_type in self.change_types and self.user_id in (None, user_id)

    def expired(self, now: datetime) -> bool:
        return self.expiration <= now

    def to_json(self, base_url: str) -> dict[str, Any]:
        return {
            "@odata.context": f"{base_url}/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.application_id,
            "changeType": ",".join(self.change_types),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": format_datetime(self.expiration),
            "creatorId": self.application_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": self.tls_version,
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationQueryOptions": None,
            "notificationUrlAppId": None,
            "notificationContentType": "application/json",
        }


def _invalid(message: str, code: str = "InvalidRequest") -> GraphError:
    return GraphError(400, code, message)


def check_expiration(value: Any, now: datetime) -> datetime:
    try:
        moment = parse_datetime(value)
    except ValueError:
        # Made up: the wording for an unreadable date is not documented.
        raise _invalid("expirationDateTime must be an ISO 8601 date and time in UTC.") from None
    if moment > now + timedelta(minutes=MAX_EXPIRATION_MINUTES):
        # The shape observed for Outlook's cap, with the users' limit (graph-facts §1).
        raise _invalid(
            f"Subscription expiration can only be {MAX_EXPIRATION_MINUTES} minutes in the future.",
            "ExtensionError",
        )
    if moment <= now:
        # Made up: Graph refuses a past expiry; its wording is not documented.
        raise _invalid("Subscription expiration must be in the future.", "ExtensionError")
    return moment


def check_notification_url(value: Any, field: str) -> str:
    """Graph insists on https; the emulator also takes plain http, on loopback only.

    It never contacts anything but this machine, so other hosts are refused outright.
    """
    if not isinstance(value, str) or not value:
        raise _invalid(f"{field} is required.")  # made up wording
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(f"Invalid {field}: '{value}'.")  # made up wording
    if not is_loopback_host(parts.hostname):
        if parts.scheme != "https":
            raise _invalid(f"The {field} must use https.")  # made up wording
        raise _invalid(  # an emulator limit, not Graph's
            f"The emulator delivers only to loopback hosts; {field} '{value}' is not one."
        )
    return value


def check_resource(value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid("resource is required.")  # made up wording
    parts = value.strip("/").split("/")
    if parts[0].lower() == "users" and len(parts) in (1, 2) and all(parts):
        return "/".join(["users", *parts[1:]])
    raise _invalid(  # an emulator limit: it serves user subscriptions only
        f"Resource '{value}' is not supported by the emulator; use 'users' or 'users/{{id}}'."
    )


def check_change_types(value: Any) -> tuple[str, ...]:
    if not isinstance(value, str) or not value.strip():
        raise _invalid("Invalid 'changeType' attribute: ''.")
    change_types = tuple(part.strip() for part in value.split(","))
    for change_type in change_types:
        if change_type not in ("updated", "deleted"):
            # The message seen for `created` on users (microsoft-graph-docs #4819).
            raise _invalid(f"Invalid 'changeType' attribute: '{change_type}'.")
    return change_types


def check_client_state(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_CLIENT_STATE:
        # Made up wording; the 128-character limit is documented.
        raise _invalid(f"clientState must be at most {MAX_CLIENT_STATE} characters.")
    return value


def new_subscription(body: dict[str, Any], now: datetime, application_id: str) -> Subscription:
    """Validate a `POST /subscriptions` body (everything but the handshake)."""
    if body.get("includeResourceData"):
        # Made up wording: rich notifications do not exist for users (graph-facts §1).
        raise _invalid("includeResourceData is not supported for resource 'users'.")
    tls_version = body.get("latestSupportedTlsVersion") or "v1_2"
    if tls_version not in TLS_VERSIONS:
        raise _invalid(f"Invalid latestSupportedTlsVersion '{tls_version}'.")  # made up wording
    lifecycle = body.get("lifecycleNotificationUrl")
    return Subscription(
        id=str(uuid.uuid4()),
        resource=check_resource(body.get("resource")),
        change_types=check_change_types(body.get("changeType")),
        notification_url=check_notification_url(body.get("notificationUrl"), "notificationUrl"),
        lifecycle_url=(
            None
            if lifecycle is None
            else check_notification_url(lifecycle, "lifecycleNotificationUrl")
        ),
        expiration=check_expiration(body.get("expirationDateTime"), now),
        client_state=check_client_state(body.get("clientState")),
        tls_version=tls_version,
        application_id=application_id,
    )


def patched(current: Subscription, body: dict[str, Any], now: datetime) -> Subscription:
    """Apply a PATCH: renewing also reauthorizes, so it lifts a pause."""
    if "lifecycleNotificationUrl" in body:
        # Documented rule (only at creation); the wording is made up.
        raise _invalid("lifecycleNotificationUrl can only be set when a subscription is created.")
    changes: dict[str, Any] = {"paused": False}
    if "expirationDateTime" in body:
        changes["expiration"] = check_expiration(body["expirationDateTime"], now)
    if "notificationUrl" in body:
        changes["notification_url"] = check_notification_url(
            body["notificationUrl"], "notificationUrl"
        )
    if "clientState" in body:
        changes["client_state"] = check_client_state(body["clientState"])
    return replace(current, **changes)


def not_found(subscription_id: str) -> GraphError:
    # Made up in Graph's shape: the 404 for an expired or deleted subscription is documented,
    # its body is not.
    return GraphError(404, "ResourceNotFound", f"Subscription '{subscription_id}' was not found.")


class SubscriptionStore:
    """Live subscriptions; an expired one is gone, as Graph deletes what is not renewed."""

    def __init__(self) -> None:
        self.items: dict[str, Subscription] = {}

    def live(self, now: datetime) -> list[Subscription]:
        for subscription_id in [s.id for s in self.items.values() if s.expired(now)]:
            del self.items[subscription_id]
        return list(self.items.values())

    def get(self, subscription_id: str, now: datetime) -> Subscription:
        found = self.items.get(subscription_id)
        if found is None or found.expired(now):
            self.items.pop(subscription_id, None)
            raise not_found(subscription_id)
        return found

    def put(self, subscription: Subscription) -> None:
        self.items[subscription.id] = subscription

    def delete(self, subscription_id: str, now: datetime) -> None:
        self.get(subscription_id, now)
        del self.items[subscription_id]

    def clear(self) -> None:
        self.items.clear()

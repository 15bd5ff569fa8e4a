"""Behaviour switches that the CLI sets at start and the control API changes at run time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from graph_emulator.delta_tokens import GRAPH_LIFETIME_SECONDS

# JSON name -> field name; the control API speaks camelCase like Graph.
_JSON_NAMES = {
    "writeQuota": "write_quota",
    "writeQuotaWindowSeconds": "write_quota_window",
    "retryAfterFormat": "retry_after_format",
    "notifyOnMembershipWrites": "notify_on_membership_writes",
    "duplicateNotifications": "duplicate_notifications",
    "notificationRetries": "notification_retries",
    "notificationRetryDelaySeconds": "notification_retry_delay",
    "notificationTimeoutSeconds": "notification_timeout",
    "notificationMaxPerPost": "notification_max_per_post",
    "validationTimeoutSeconds": "validation_timeout",
    "batchResponseOrder": "batch_response_order",
    "deltaTokenLifetimeSeconds": "delta_token_lifetime",
    "deltaExpiredStatus": "delta_expired_status",
}


class SettingsError(ValueError):
    """A settings change that names an unknown setting or a bad value."""


@dataclass(frozen=True)
class Settings:
    """Defaults are Graph's where Graph has one (3 s delivery timeout, 10 s validation)."""

    write_quota: int | None = None  # writes per window; None = no quota (the default)
    write_quota_window: float = 150.0
    retry_after_format: str = "integer"  # or "decimal": Retry-After "2.128"
    notify_on_membership_writes: bool = False
    duplicate_notifications: bool = False
    notification_retries: int = 3
    notification_retry_delay: float = 1.0
    notification_timeout: float = 3.0
    notification_max_per_post: int = 100
    validation_timeout: float = 10.0
    batch_response_order: str = "shuffled"  # or "request"
    # Seconds on the emulator clock before a delta or skip token expires; None = never.
    delta_token_lifetime: float | None = GRAPH_LIFETIME_SECONDS
    # Graph's docs answer an expired token with 410 Gone; a 2020 Microsoft blog reports 400.
    delta_expired_status: int = 410

    def __post_init__(self) -> None:
        if self.retry_after_format not in ("integer", "decimal"):
            raise SettingsError("retryAfterFormat must be 'integer' or 'decimal'")
        if self.batch_response_order not in ("shuffled", "request"):
            raise SettingsError("batchResponseOrder must be 'shuffled' or 'request'")
        if self.write_quota is not None and self.write_quota < 1:
            raise SettingsError("writeQuota must be a positive number of writes, or null")
        if self.write_quota_window <= 0 or self.notification_timeout <= 0:
            raise SettingsError("windows and timeouts must be positive")
        if self.notification_retries < 0 or self.notification_max_per_post < 1:
            raise SettingsError("notificationRetries >= 0 and notificationMaxPerPost >= 1")
        if self.delta_token_lifetime is not None and self.delta_token_lifetime <= 0:
            raise SettingsError("deltaTokenLifetimeSeconds must be positive, or null for never")
        if self.delta_expired_status not in (400, 410):
            raise SettingsError("deltaExpiredStatus must be 410 or 400")

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, field) for name, field in _JSON_NAMES.items()}

    def updated(self, changes: dict[str, Any]) -> Settings:
        """A copy with the camelCase `changes` applied; unknown names are an error."""
        unknown = sorted(set(changes) - set(_JSON_NAMES))
        if unknown:
            raise SettingsError(f"unknown settings: {', '.join(unknown)}")
        values = {}
        for name, value in changes.items():
            field = _JSON_NAMES[name]
            current = getattr(self, field)
            if isinstance(current, bool) and not isinstance(value, bool):
                raise SettingsError(f"{name} must be true or false")
            values[field] = value
        try:
            return dataclasses.replace(self, **values)
        except TypeError as exc:
            raise SettingsError(str(exc)) from exc

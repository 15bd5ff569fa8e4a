"""Decides what our Graph `users` subscription needs: keep, renew, create, or clean up.

Pure: plain data in (Graph's subscription JSON, the wanted settings, the time), a plan out.
The job in reconciler/service/subscription.py (`upkeep`) carries the plan out against Graph.

Renewal policy (graph-facts.md §1): a `users` subscription lives at most 41,760 minutes
(29 days). We ask for that maximum less SAFETY_MARGIN (15 minutes, for clock skew between us
and Graph and request latency: asking for more than the maximum fails the whole request), and
renew once less than RENEW_WITHIN (7 days) is left. With the 6-hourly upkeep timer that gives
about 28 chances to renew before Graph deletes the subscription, so a Graph or app outage of
several days does not lose it, and a healthy subscription is renewed about every 22 days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from reconciler.settings import Settings, SettingsError

RESOURCE = "users"
CHANGE_TYPE = "updated,deleted"  # `created` never fires for users (graph-facts.md §1)
MAX_LIFETIME = timedelta(minutes=41_760)
SAFETY_MARGIN = timedelta(minutes=15)
RENEW_WITHIN = timedelta(days=7)
MAX_CLIENT_STATE = 128  # the subscription resource's limit; changeNotification says 255

ActionKind = Literal["create", "renew", "reauthorize", "delete", "keep"]


@dataclass(frozen=True, slots=True)
class SubscriptionTarget:
    """The subscription we want, from the settings."""

    notification_url: str
    client_state: str
    lifecycle_notification_url: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SubscriptionTarget:
        """NOTIFICATION_URL and CLIENT_STATE are required here, where they are first needed."""
        notification_url = settings.require("notification_url")
        client_state = settings.require("client_state")
        if len(client_state) > MAX_CLIENT_STATE:
            raise SettingsError(
                f"CLIENT_STATE is {len(client_state)} characters long; Graph accepts at most "
                f"{MAX_CLIENT_STATE}: set a shorter random secret"
            )
        return cls(notification_url, client_state, settings.lifecycle_notification_url or None)


@dataclass(frozen=True, slots=True)
class Subscription:
    """The fields of one Graph subscription that upkeep looks at."""

    id: str
    resource: str
    change_types: frozenset[str]
    notification_url: str
    lifecycle_notification_url: str | None
    client_state: str | None
    expiration: datetime | None  # None: Graph sent no readable expirationDateTime

    @classmethod
    def from_graph(cls, body: Mapping[str, Any]) -> Subscription:
        return cls(
            id=str(body.get("id", "")),
            resource=str(body.get("resource") or ""),
            change_types=frozenset(
                part.strip().lower() for part in str(body.get("changeType") or "").split(",")
            )
            - {""},
            notification_url=str(body.get("notificationUrl") or ""),
            lifecycle_notification_url=body.get("lifecycleNotificationUrl") or None,
            client_state=body.get("clientState"),
            expiration=parse_graph_time(body.get("expirationDateTime")),
        )

    def is_ours(self, target: SubscriptionTarget) -> bool:
        """Same notificationUrl, resource `users` (with or without the slash), and at least
        `updated` and `deleted`. Someone else's subscription is never touched."""
        return (
            self.notification_url == target.notification_url
            and self.resource.strip("/").lower() == RESOURCE
            and {"updated", "deleted"} <= self.change_types
        )

    def unusable(self, target: SubscriptionTarget, now: datetime) -> str | None:
        """Why this subscription of ours must be replaced rather than renewed, or None."""
        if self.expiration is None or self.expiration <= now:
            # PATCHing an expired subscription answers 404; only a new one helps.
            return "expired"
        if self.lifecycle_notification_url != target.lifecycle_notification_url:
            # lifecycleNotificationUrl can be set only at creation; a PATCH cannot change it.
            return "lifecycleNotificationUrl differs from LIFECYCLE_NOTIFICATION_URL"
        if self.client_state is not None and self.client_state != target.client_state:
            # The webhook would drop every notification it sends as forged.
            return "clientState differs from CLIENT_STATE"
        return None


@dataclass(frozen=True, slots=True)
class SubscriptionAction:
    """One step of upkeep; `subscription_id` is None for a create."""

    kind: ActionKind
    subscription_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class UpkeepPlan:
    """Steps in the order to run them: create or renew first, deletes last, so a working
    subscription exists at every moment that one did before."""

    actions: tuple[SubscriptionAction, ...]

    def of_kind(self, kind: ActionKind) -> list[SubscriptionAction]:
        return [action for action in self.actions if action.kind == kind]


def plan_upkeep(
    subscriptions: Iterable[Mapping[str, Any]], target: SubscriptionTarget, now: datetime
) -> UpkeepPlan:
    """Keep one subscription of ours, renewed in time; replace a broken one; drop duplicates.

    "Newest" is the one with the latest expirationDateTime (Graph keeps no creation time, and
    every create or renew asks for the maximum), ties broken by id so the choice is stable.
    """
    ours = [s for s in map(Subscription.from_graph, subscriptions) if s.is_ours(target)]
    broken = [(s, why) for s in ours if (why := s.unusable(target, now)) is not None]
    usable = [s for s in ours if s.unusable(target, now) is None]
    actions: list[SubscriptionAction] = []
    if usable:
        keeper = max(usable, key=lambda s: (s.expiration, s.id))
        left = keeper.expiration - now  # type: ignore[operator]  # usable: not None
        kind: ActionKind = "renew" if left < RENEW_WITHIN else "keep"
        actions.append(SubscriptionAction(kind, keeper.id, f"expires in {_describe(left)}"))
        actions += [
            SubscriptionAction("delete", s.id, f"duplicate of {keeper.id}")
            for s in sorted(usable, key=lambda s: s.id)
            if s is not keeper
        ]
    else:
        reason = "replaces an unusable subscription" if broken else "no subscription on users"
        actions.append(SubscriptionAction("create", None, reason))
    actions += [SubscriptionAction("delete", s.id, why) for s, why in broken]
    return UpkeepPlan(tuple(actions))


def expiration_for(now: datetime) -> datetime:
    """The expirationDateTime to ask for: the maximum, less the safety margin."""
    return now + MAX_LIFETIME - SAFETY_MARGIN


def creation_body(target: SubscriptionTarget, expiration: datetime) -> dict[str, Any]:
    """The `POST /subscriptions` body (graph-facts.md §1)."""
    body: dict[str, Any] = {
        "changeType": CHANGE_TYPE,
        "notificationUrl": target.notification_url,
        "resource": RESOURCE,
        "expirationDateTime": graph_time(expiration),
        "clientState": target.client_state,
        "latestSupportedTlsVersion": "v1_2",
    }
    if target.lifecycle_notification_url:
        body["lifecycleNotificationUrl"] = target.lifecycle_notification_url
    return body


def graph_time(moment: datetime) -> str:
    """UTC with a Z, as Graph writes expirationDateTime."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_graph_time(text: Any) -> datetime | None:
    """Graph's expirationDateTime (Z or an offset, up to 7 fraction digits), or None."""
    if not isinstance(text, str) or not text:
        return None
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    head, dot, rest = value.partition(".")
    if dot:  # Python reads at most 6 fraction digits; Graph writes up to 7
        digits = len(rest) - len(rest.lstrip("0123456789"))
        value = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _describe(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"

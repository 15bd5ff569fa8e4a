"""The subscription upkeep job: carry out plan_upkeep against Graph, one audit record a step.

outcome = await ensure_subscription(directory, settings)          # timer subscription_upkeep
outcome = await renew_or_reauthorize(directory, settings, sub_id)  # reauthorizationRequired
result = await upkeep(directory, settings, sub_id)  # either, as a typed result (never raises
                                                    # for Graph or a missing setting)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from reconciler.directory import DirectoryError
from reconciler.plan.upkeep import (
    SubscriptionAction,
    SubscriptionTarget,
    creation_body,
    expiration_for,
    parse_graph_time,
    plan_upkeep,
)
from reconciler.service.outcome import Outcome
from reconciler.service.run import Run
from reconciler.settings import Settings, SettingsError


class SubscriptionDirectory(Protocol):
    """The subscription calls upkeep needs (GraphDirectory implements them)."""

    async def subscriptions(self) -> list[dict]: ...

    async def create_subscription(self, body: dict[str, Any]) -> dict: ...

    async def renew_subscription(self, subscription_id: str, expiration: datetime) -> dict: ...

    async def reauthorize_subscription(self, subscription_id: str) -> None: ...

    async def delete_subscription(self, subscription_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SubscriptionOutcome:
    """What upkeep did: the subscription now in place and every step taken."""

    subscription_id: str
    expiration: datetime | None
    actions: tuple[SubscriptionAction, ...]
    correlation_id: str = ""

    def ids(self, kind: str) -> list[str]:
        return [a.subscription_id or "" for a in self.actions if a.kind == kind]

    @property
    def created(self) -> bool:
        return any(a.kind == "create" for a in self.actions)

    @property
    def renewed(self) -> bool:
        return any(a.kind == "renew" for a in self.actions)

    @property
    def deleted(self) -> list[str]:
        return self.ids("delete")

    def __str__(self) -> str:
        steps = ", ".join(f"{a.kind} {a.subscription_id or ''}".strip() for a in self.actions)
        until = self.expiration.isoformat() if self.expiration else "unknown"
        return f"subscription {self.subscription_id} until {until} ({steps})"


@dataclass(frozen=True, slots=True)
class UpkeepResult:
    """The upkeep job's typed result: its outcome, and what it did when it got that far."""

    outcome: Outcome
    subscription: SubscriptionOutcome | None = None


async def upkeep(
    directory: SubscriptionDirectory,
    settings: Settings,
    subscription_id: str | None = None,
    *,
    cause: str = "upkeep",
    correlation_id: str | None = None,
) -> UpkeepResult:
    """Ensure our subscription (the timer), or answer reauthorizationRequired for
    `subscription_id` (a maintenance message). Graph failing is worth a retry; a missing or
    bad setting is not (it fails the same way until someone fixes it)."""
    try:
        if subscription_id is None:
            done = await ensure_subscription(
                directory, settings, cause=cause, correlation_id=correlation_id
            )
        else:
            done = await renew_or_reauthorize(
                directory, settings, subscription_id, cause=cause, correlation_id=correlation_id
            )
    except DirectoryError as error:
        return UpkeepResult(Outcome.retry_later("directory", str(error)))
    except SettingsError as error:
        return UpkeepResult(Outcome.failed(str(error)))
    return UpkeepResult(Outcome.done(str(done)), done)


async def ensure_subscription(
    directory: SubscriptionDirectory,
    settings: Settings,
    now: datetime | None = None,
    *,
    cause: str = "upkeep",
    correlation_id: str | None = None,
) -> SubscriptionOutcome:
    """Make sure exactly one `users` subscription of ours exists and is not close to expiry.

    Missing or unusable (expired, other lifecycle URL or clientState): create a new one.
    Less than RENEW_WITHIN left: renew it. Duplicates: keep the newest, delete the others.
    Raises SettingsError (NOTIFICATION_URL, CLIENT_STATE) or DirectoryError.
    """
    target = SubscriptionTarget.from_settings(settings)
    now = now or datetime.now(UTC)
    run = Run.start(cause, correlation_id, None)
    listed = await directory.subscriptions()
    current: dict = {}
    done: list[SubscriptionAction] = []
    for action in plan_upkeep(listed, target, now).actions:
        if action.kind == "keep":
            current = next(s for s in listed if s.get("id") == action.subscription_id)
            _record(run, action, current)
        elif action.kind == "renew":
            try:
                current = await _renew(directory, action, now, run)
            except DirectoryError as error:
                if error.status != 404:
                    raise
                # Graph deleted it between our listing and the renewal: make a new one.
                action = SubscriptionAction("create", None, f"{action.subscription_id} was gone")
                current = await _create(directory, target, now, run, action)
        elif action.kind == "create":
            current = await _create(directory, target, now, run, action)
        else:
            await _delete(directory, action, run)
        done.append(action)
    return SubscriptionOutcome(
        str(current.get("id", "")),
        parse_graph_time(current.get("expirationDateTime")),
        tuple(done),
        run.correlation_id,
    )


async def renew_or_reauthorize(
    directory: SubscriptionDirectory,
    settings: Settings,
    subscription_id: str | None,
    now: datetime | None = None,
    *,
    cause: str = "lifecycle",
    correlation_id: str | None = None,
) -> SubscriptionOutcome:
    """Answer reauthorizationRequired: reauthorize, then renew the expiry (reauthorizing alone
    does not extend it). A subscription Graph no longer has (404), or no id at all, falls back
    to ensure_subscription, which creates ours anew."""
    now = now or datetime.now(UTC)
    run = Run.start(cause, correlation_id, None)
    if not subscription_id:
        return await ensure_subscription(
            directory, settings, now, cause=cause, correlation_id=run.correlation_id
        )
    reauthorize = SubscriptionAction("reauthorize", subscription_id, "reauthorizationRequired")
    renew = SubscriptionAction("renew", subscription_id, "reauthorizationRequired")
    try:
        try:
            await directory.reauthorize_subscription(subscription_id)
        except DirectoryError as error:
            raise _failed(run, reauthorize, error) from error
        _record(run, reauthorize, {"id": subscription_id})
        current = await _renew(directory, renew, now, run)
    except DirectoryError as error:
        if error.status != 404:
            raise
        # Graph no longer has it (expired, or deleted): a PATCH cannot bring it back.
        return await ensure_subscription(
            directory, settings, now, cause=cause, correlation_id=run.correlation_id
        )
    return SubscriptionOutcome(
        str(current.get("id") or subscription_id),
        parse_graph_time(current.get("expirationDateTime")),
        (reauthorize, renew),
        run.correlation_id,
    )


async def _create(
    directory: SubscriptionDirectory,
    target: SubscriptionTarget,
    now: datetime,
    run: Run,
    action: SubscriptionAction,
) -> dict:
    try:
        created = await directory.create_subscription(creation_body(target, expiration_for(now)))
    except DirectoryError as error:
        if error.status == 400 and error.code == "ValidationError":
            hint = (
                "Graph could not validate NOTIFICATION_URL or LIFECYCLE_NOTIFICATION_URL: each "
                "must be reachable from Graph and answer ?validationToken= with 200 text/plain "
                f"echoing the token within 10 seconds ({error})"
            )
            error = DirectoryError(
                hint, status=error.status, code=error.code, request_id=error.request_id
            )
        raise _failed(run, action, error) from error
    _record(run, action, created)
    return created


async def _renew(
    directory: SubscriptionDirectory, action: SubscriptionAction, now: datetime, run: Run
) -> dict:
    """Raises DirectoryError; a 404 is left to the caller, which creates a new one."""
    try:
        renewed = await directory.renew_subscription(
            action.subscription_id or "", expiration_for(now)
        )
    except DirectoryError as error:
        raise _failed(run, action, error) from error
    _record(run, action, renewed)
    return renewed


async def _delete(directory: SubscriptionDirectory, action: SubscriptionAction, run: Run) -> None:
    try:
        await directory.delete_subscription(action.subscription_id or "")
    except DirectoryError as error:
        if error.status != 404:  # already gone (expired ones are): the state we wanted
            raise _failed(run, action, error) from error
    _record(run, action, {"id": action.subscription_id})


def _record(run: Run, action: SubscriptionAction, subscription: dict) -> None:
    expiration = subscription.get("expirationDateTime")
    run.audit(
        "subscription",
        action=action.kind,
        reason=action.reason,
        subscriptionId=subscription.get("id") or action.subscription_id,
        **({"expirationDateTime": expiration} if expiration else {}),
    )


def _failed(run: Run, action: SubscriptionAction, error: DirectoryError) -> DirectoryError:
    run.audit(
        "failure",
        action=f"subscription.{action.kind}",
        reason=str(error),
        subscriptionId=action.subscription_id,
        status=error.status,
        code=error.code,
        requestId=error.request_id,
    )
    return error

"""The emulator's core: routes each Graph call through faults, quota, handler and logs.

Everything here runs on the server's event loop; nothing locks. The HTTP layer, `$batch` and
the control API all come through `handle`, so a batch item is treated exactly like a request.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from graph_emulator import errors, generator
from graph_emulator.calls import Call, Reply
from graph_emulator.clock import Clock
from graph_emulator.delta_tokens import DeltaTokens
from graph_emulator.directory import Directory
from graph_emulator.errors import GraphError
from graph_emulator.faults import FaultPlan, FaultRule
from graph_emulator.notifier import Notification, Notifier
from graph_emulator.request_log import RequestLog
from graph_emulator.routes import graph_router
from graph_emulator.routing import Router
from graph_emulator.settings import Settings
from graph_emulator.subscriptions import SubscriptionStore, format_datetime, is_loopback_host
from graph_emulator.tenant_document import TenantDocument
from graph_emulator.write_log import WriteLog
from graph_emulator.write_quota import WriteQuota, format_retry_after

GRAPH_HOSTS = ("graph.microsoft.com",)
_DIRECTORY_WRITE_ROOTS = ("/users", "/groups", "/directory")
_REFERENCE_COLLECTIONS = {"directoryobjects", "users", "groups", "devices"}


@dataclass(frozen=True)
class TenantSource:
    """How to rebuild the initial tenant on reset: generate it again, or re-adopt a document."""

    users: int = 200
    seed: int = 1
    extra_groups: int = 0
    document: TenantDocument | None = None

    def build(self) -> TenantDocument:
        if self.document is not None:
            return self.document
        return generator.generate(self.users, self.seed, extra_groups=self.extra_groups)


class Emulator:
    def __init__(
        self,
        source: TenantSource,
        settings: Settings | None = None,
        *,
        base_url: str = "http://127.0.0.1/v1.0",
        request_log_limit: int = 100_000,
    ) -> None:
        self.router: Router = graph_router()
        self.base_url = base_url
        self.initial_settings = settings or Settings()
        self.settings = self.initial_settings
        self.source = source
        self.document = source.build()
        self.directory = Directory(self.document)
        self.clock = Clock()
        self.requests = RequestLog(request_log_limit)
        self.writes = WriteLog()
        self.faults = FaultPlan()
        self.quota = WriteQuota()
        self.subscriptions = SubscriptionStore()
        self.delta_tokens = DeltaTokens()
        self.notifier = Notifier(lambda: self.settings, self.faults, self._subscription_is_live)
        self.batch_rng = random.Random(source.seed)
        self._sequence = time.time_ns() // 100

    # ----- state ----------------------------------------------------------------------------

    async def reset(self) -> None:
        """Back to the tenant as loaded, with default settings and empty logs and plans."""
        await self.notifier.clear()
        self.directory = Directory(self.document)
        self.settings = self.initial_settings
        self.requests.clear()
        self.writes.clear()
        self.faults.clear()
        self.quota.clear()
        self.subscriptions.clear()
        self.delta_tokens = DeltaTokens()  # the new directory's change log has a new epoch too
        self.clock.reset()
        self.batch_rng = random.Random(self.source.seed)

    async def load(self, document: TenantDocument) -> None:
        """Replace the tenant; it also becomes what a reset returns to."""
        self.source = TenantSource(document=document)
        self.document = document
        await self.reset()

    async def close(self) -> None:
        await self.notifier.close()

    # ----- dispatch -------------------------------------------------------------------------

    async def handle(self, call: Call) -> Reply:
        started = time.perf_counter()
        template = "(unmatched)"
        fault_kinds: list[str] = []
        disconnect = False
        held_back: list[FaultRule] = []  # latency after the call took effect
        try:
            match = self.router.match(call.method, call.path)
            template = match.route.template
            for rule in self.faults.for_call(
                call.method,
                call.path,
                template,
                in_batch=call.batch_id is not None,
                is_later_page=call.option("skiptoken") is not None,
            ):
                fault_kinds.append(rule.kind if rule.kind != "status" else str(rule.status))
                if rule.kind == "latency" and rule.phase == "after":
                    held_back.append(rule)
                elif rule.kind == "latency":
                    await asyncio.sleep(rule.latency_ms / 1000)
                elif rule.kind == "disconnect":
                    disconnect = True
                else:
                    raise rule.error()
            self._charge_write(call, template)
            reply = await match.route.handler(self, call, match.params)
            if held_back:
                await self.faults.hold(held_back)
            if disconnect:
                reply = replace(reply, disconnect=True)
        except GraphError as exc:
            reply = self.error_reply(exc, call)
        self.requests.record(
            method=call.method,
            path=call.path,
            route=template,
            status=reply.status,
            batch_id=call.batch_id,
            started=started,
            fault=",".join(fault_kinds) or None,
            request_id=call.request_id,
        )
        return reply

    def _charge_write(self, call: Call, template: str) -> None:
        limit = self.settings.write_quota
        if limit is None or call.method == "GET" or not template.startswith(_DIRECTORY_WRITE_ROOTS):
            return
        wait = self.quota.try_write(limit, self.settings.write_quota_window)
        if wait is not None:
            raise errors.too_many_requests(
                format_retry_after(wait, self.settings.retry_after_format),
                information="WriteLimitExceeded",
            )

    @staticmethod
    def error_reply(exc: GraphError, call: Call) -> Reply:
        body = errors.error_body(
            exc.code, exc.message, call.request_id, call.client_request_id, exc.inner
        )
        return Reply(exc.status, body, exc.headers)

    # ----- references -----------------------------------------------------------------------

    def reference_id(self, value: Any) -> str:
        """The object id in an `@odata.id` URL on Graph's base URL or the emulator's own."""
        if not isinstance(value, str):
            raise self._bad_reference(value)
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        own = urlsplit(self.base_url).hostname
        if host not in GRAPH_HOSTS and host != own and not is_loopback_host(host):
            raise self._bad_reference(value)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) != 3 or segments[0].lower() not in ("v1.0", "beta"):
            raise self._bad_reference(value)
        if segments[1].lower() not in _REFERENCE_COLLECTIONS:
            raise self._bad_reference(value)
        return segments[2]

    @staticmethod
    def _bad_reference(value: Any) -> GraphError:
        # Made up in Graph's shape: the wording for a malformed @odata.id is not documented.
        return GraphError(400, "Request_BadRequest", f"Invalid object identifier '{value}'.")

    # ----- notifications --------------------------------------------------------------------

    def _subscription_is_live(self, subscription_id: str) -> bool:
        found = self.subscriptions.items.get(subscription_id)
        return found is not None and not found.expired(self.clock.now())

    def notify_user_change(self, user_id: str, change_type: str) -> int:
        """Queue a notification for every live subscription that watches this user."""
        sent = 0
        for subscription in self.subscriptions.live(self.clock.now()):
            if not subscription.watches(user_id, change_type):
                continue
            self._sequence += 1
            item = {
                "subscriptionId": subscription.id,
                "subscriptionExpirationDateTime": format_datetime(subscription.expiration),
                "changeType": change_type,
                "resource": f"Users/{user_id}",
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.User",
                    "@odata.id": f"Users/{user_id}",
                    "id": user_id,
                    "organizationId": self.directory.tenant_id,
                    "sequenceNumber": self._sequence,
                },
                "clientState": subscription.client_state,
                "tenantId": self.directory.tenant_id,
            }
            notification = Notification(subscription.id, subscription.notification_url, item)
            if subscription.paused:
                # Graph pauses delivery until reauthorization; changes meanwhile are lost.
                self.notifier.record_lost(notification, "lost-while-paused")
                continue
            self.notifier.submit(notification)
            sent += 1
        return sent

    def send_lifecycle(self, subscription_id: str, event: str, *, pause: bool) -> Notification:
        """Send a lifecycle notification now, in the shape real tenants deliver (graph-facts §4);
        `subscriptionRemoved` removes the subscription first, as Graph has when it says so."""
        subscription = self.subscriptions.get(subscription_id, self.clock.now())
        if subscription.lifecycle_url is None:
            raise GraphError(
                409,
                "Conflict",
                "This subscription has no lifecycleNotificationUrl; Graph would send nothing.",
            )
        item = {
            "lifecycleEvent": event,
            "subscriptionId": subscription.id,
            "subscriptionExpirationDateTime": format_datetime(subscription.expiration),
            "resource": "",
            "clientState": subscription.client_state,
            "sequence": None,
            "resourceData": {
                "@odata.type": "#microsoft.graph.subscription",
                "@odata.id": f"subscriptions/{subscription.id}",
                "id": subscription.id,
            },
            "encryptedContent": None,
            "organizationId": self.directory.tenant_id,
            "tenantId": self.directory.tenant_id,
        }
        if event == "subscriptionRemoved":
            # Graph sends it once the subscription is gone: nothing is notified any more.
            self.subscriptions.delete(subscription.id, self.clock.now())
        elif pause:
            self.subscriptions.put(replace(subscription, paused=True))
        notification = Notification(
            subscription.id,
            subscription.lifecycle_url,
            item,
            after_removal=event == "subscriptionRemoved",
        )
        self.notifier.submit(notification)
        return notification

    # ----- membership writes ----------------------------------------------------------------

    def record_membership_write(
        self,
        call: Call,
        *,
        action: str,
        group_id: str,
        member_id: str,
        status: int,
        applied: bool,
        via: str,
    ) -> None:
        directory = self.directory
        user = directory.users.get(member_id)
        self.writes.record(
            action=action,
            group_id=group_id,
            member_id=member_id,
            member_type=directory.kind_of(member_id),
            status=status,
            applied=applied,
            via=via,
            request_id=call.request_id,
            batch_id=call.batch_id,
            user=user,
            manager_id=directory.manager_of(member_id) if user is not None else None,
        )
        if applied and user is not None and self.settings.notify_on_membership_writes:
            self.notify_user_change(member_id, "updated")

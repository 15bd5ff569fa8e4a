"""The emulator-only control API under `/_emulator/` (not Graph; no token needed).

GET    /_emulator                           what is loaded, and this list
GET    /_emulator/tenant                    export the tenant as a JSON document
PUT    /_emulator/tenant                    load a tenant document (it becomes the reset point)
POST   /_emulator/tenant/generate           {"users": N, "seed": S, "groups": G}: a new tenant
POST   /_emulator/reset                     back to the loaded tenant; clears logs, faults,
                                            subscriptions, quota, clock and settings changes
GET    /_emulator/settings                  current switches
PATCH  /_emulator/settings                  change some, e.g. {"writeQuota": 3000}
GET    /_emulator/faults                    the fault plan, with matched/fired counts
POST   /_emulator/faults                    add one rule, or {"rules": [...]}
DELETE /_emulator/faults[/{id}]             clear the plan, or remove one rule
GET    /_emulator/requests?since=SEQ        the request log
DELETE /_emulator/requests                  clear the request log and counters
GET    /_emulator/counters                  calls per method and route, batch items included
GET    /_emulator/writes?since=SEQ          the membership write log
GET    /_emulator/notifications             {"pending": n, "value": [delivery records]}
POST   /_emulator/subscriptions/{id}/lifecycle  {"lifecycleEvent": "reauthorizationRequired",
                                            "pauseDelivery": false}: send one now
                                            (subscriptionRemoved also deletes the subscription)
GET    /_emulator/clock                     the emulator's time
POST   /_emulator/clock                     {"advanceSeconds": N}: move it forward
PATCH  /_emulator/users/{id}                change any property as the source of authority
                                            would (no Graph checks); sends `updated`
GET    /_emulator/delta                     /users/delta state: change sequence, tokens issued,
                                            expiry marks, lifetime
POST   /_emulator/delta/expire              expire delta and skip tokens: {} all issued so far,
                                            {"issuedBefore": ISO-8601} or {"olderThanSeconds": N}
                                            those issued before then; later calls with them get
                                            syncStateNotFound (410 Gone, or deltaExpiredStatus)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from graph_emulator import generator
from graph_emulator.calls import NO_CONTENT, Call, Reply
from graph_emulator.errors import GraphError
from graph_emulator.faults import FaultPlanError
from graph_emulator.routing import Router
from graph_emulator.settings import SettingsError
from graph_emulator.subscriptions import format_datetime, parse_datetime
from graph_emulator.tenant_document import TenantDocument, TenantFileError

if TYPE_CHECKING:
    from graph_emulator.emulator import Emulator

LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _since(call: Call) -> int:
    try:
        return int(call.query.get("since", "0"))
    except ValueError:
        raise _bad("since must be a sequence number") from None


def _body(call: Call) -> dict[str, Any]:
    return call.json_object() if call.body.strip() else {}


async def info(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    directory = emu.directory
    return Reply(
        200,
        {
            "baseUrl": emu.base_url,
            "tenantId": directory.tenant_id,
            "users": len(directory.users),
            "groups": len(directory.groups),
            "devices": len(directory.devices),
            "subscriptions": len(emu.subscriptions.live(emu.clock.now())),
            "endpoints": [f"{r.method} /_emulator{r.template}" for r in CONTROL.routes],
        },
    )


async def export_tenant(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    return Reply(200, emu.directory.to_document().to_json())


async def load_tenant(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    try:
        document = TenantDocument.from_json(call.json())
        await emu.load(document)
    except (TenantFileError, GraphError) as exc:
        raise _bad(f"tenant document: {exc}") from None
    return NO_CONTENT


async def generate_tenant(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    body = _body(call)
    try:
        users = int(body.get("users", 200))
        seed = int(body.get("seed", 1))
        groups = int(body.get("groups", 0))
        document = generator.generate(users, seed, extra_groups=groups)
    except (TypeError, ValueError) as exc:
        raise _bad(str(exc)) from None
    await emu.load(document)
    return NO_CONTENT


async def reset(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    await emu.reset()
    return NO_CONTENT


async def get_settings(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    return Reply(200, emu.settings.to_json())


async def update_settings(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    try:
        emu.settings = emu.settings.updated(call.json_object())
    except SettingsError as exc:
        raise _bad(str(exc)) from None
    if emu.settings.write_quota is None:
        emu.quota.clear()
    return Reply(200, emu.settings.to_json())


async def list_faults(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    return Reply(200, {"value": emu.faults.to_json()})


async def add_faults(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    body = call.json_object()
    rules = body.get("rules") if "rules" in body else [body]
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise _bad("rules must be a list of fault objects")
    try:
        added = [emu.faults.add(rule).to_json() for rule in rules]
    except (FaultPlanError, TypeError) as exc:
        raise _bad(f"fault rule: {exc}") from None
    return Reply(201, added[0] if "rules" not in body else {"value": added})


async def clear_faults(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    emu.faults.clear()
    return NO_CONTENT


async def remove_fault(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    if not emu.faults.remove(params["id"]):
        raise GraphError(404, "NotFound", f"No fault rule with id '{params['id']}'.")
    return NO_CONTENT


async def request_log(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    return Reply(200, {"value": emu.requests.since(_since(call))})


async def clear_request_log(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    emu.requests.clear()
    return NO_CONTENT


async def counters(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    return Reply(200, emu.requests.counters())


async def write_log(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    return Reply(200, {"value": emu.writes.since(_since(call))})


async def notifications(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    log = [entry for entry in emu.notifier.log if entry["seq"] > _since(call)]
    return Reply(200, {"pending": emu.notifier.pending(), "value": log})


async def lifecycle(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    body = _body(call)
    event = body.get("lifecycleEvent", "reauthorizationRequired")
    if event not in LIFECYCLE_EVENTS:
        raise _bad(f"lifecycleEvent must be one of {', '.join(LIFECYCLE_EVENTS)}")
    notification = emu.send_lifecycle(params["id"], event, pause=bool(body.get("pauseDelivery")))
    return Reply(202, {"url": notification.url, "notification": notification.item})


async def get_clock(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    return Reply(200, {"now": format_datetime(emu.clock.now())})


async def advance_clock(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    seconds = call.json_object().get("advanceSeconds")
    if not isinstance(seconds, int | float) or seconds < 0:
        raise _bad("advanceSeconds must be a number of seconds, zero or more")
    return Reply(200, {"now": format_datetime(emu.clock.advance(seconds))})


async def patch_user(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    user = emu.directory.update_user(params["id"], call.json_object(), as_graph=False)
    emu.notify_user_change(user["id"], "updated")
    return Reply(200, user)


def _delta_state(emu: Emulator) -> dict[str, Any]:
    tokens = emu.delta_tokens
    before = tokens.expired_before
    return {
        "sequence": emu.directory.changes.sequence,
        "trackedUsers": len(emu.directory.changes.tracks),
        "indexEntries": emu.directory.changes.index_size,
        "tokensIssued": tokens.serial,
        "expiredThroughToken": tokens.expired_through,
        "expiredBefore": None
        if before is None
        else format_datetime(datetime.fromtimestamp(before, UTC)),
        "lifetimeSeconds": emu.settings.delta_token_lifetime,
    }


async def delta_state(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    return Reply(200, _delta_state(emu))


async def expire_delta_tokens(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    body = _body(call)
    unknown = sorted(set(body) - {"issuedBefore", "olderThanSeconds"})
    if unknown or len(body) > 1:
        raise _bad("give {} (all tokens), or one of issuedBefore (ISO-8601), olderThanSeconds")
    before: datetime | None = None
    if "issuedBefore" in body:
        try:
            before = parse_datetime(body["issuedBefore"])
        except ValueError:
            raise _bad(
                "issuedBefore must be ISO-8601 with a zone, e.g. 2025-04-01T12:00:00Z"
            ) from None
    elif "olderThanSeconds" in body:
        seconds = body["olderThanSeconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise _bad("olderThanSeconds must be a number of seconds, zero or more")
        before = emu.clock.now() - timedelta(seconds=seconds)
    emu.delta_tokens.expire(None if before is None else before.timestamp())
    return Reply(200, _delta_state(emu))


CONTROL = Router()
for _method, _template, _handler in (
    ("GET", "/", info),
    ("GET", "/tenant", export_tenant),
    ("PUT", "/tenant", load_tenant),
    ("POST", "/tenant/generate", generate_tenant),
    ("POST", "/reset", reset),
    ("GET", "/settings", get_settings),
    ("PATCH", "/settings", update_settings),
    ("GET", "/faults", list_faults),
    ("POST", "/faults", add_faults),
    ("DELETE", "/faults", clear_faults),
    ("DELETE", "/faults/{id}", remove_fault),
    ("GET", "/requests", request_log),
    ("DELETE", "/requests", clear_request_log),
    ("GET", "/counters", counters),
    ("GET", "/writes", write_log),
    ("GET", "/notifications", notifications),
    ("POST", "/subscriptions/{id}/lifecycle", lifecycle),
    ("GET", "/clock", get_clock),
    ("POST", "/clock", advance_clock),
    ("PATCH", "/users/{id}", patch_user),
    ("GET", "/delta", delta_state),
    ("POST", "/delta/expire", expire_delta_tokens),
):
    CONTROL.add(_method, _template)(_handler)


async def handle(emu: Emulator, call: Call) -> Reply:
    try:
        match = CONTROL.match(call.method, call.path)
        return await match.route.handler(emu, call, match.params)
    except GraphError as exc:
        return emu.error_reply(exc, call)

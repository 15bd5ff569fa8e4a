"""`/subscriptions`: create (with the validation handshake), list, read, renew, delete."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from graph_emulator import handshake, sample
from graph_emulator.calls import NO_CONTENT, Call, Reply
from graph_emulator.errors import GraphError
from graph_emulator.routing import Router
from graph_emulator.subscriptions import MAX_PER_APP_AND_TENANT, new_subscription, patched

if TYPE_CHECKING:
    from graph_emulator.emulator import Emulator


def register(router: Router) -> None:
    router.add("GET", "/subscriptions")(list_subscriptions)
    router.add("POST", "/subscriptions")(create_subscription)
    router.add("GET", "/subscriptions/{id}")(get_subscription)
    router.add("PATCH", "/subscriptions/{id}")(update_subscription)
    router.add("DELETE", "/subscriptions/{id}")(delete_subscription)
    router.add("POST", "/subscriptions/{id}/reauthorize")(reauthorize)


async def _validate(emu: Emulator, urls: list[str]) -> None:
    """Each URL gets its own validation request, twice when both URLs are the same."""
    for url in urls:
        failure = await handshake.validate(
            emu.notifier.session(), url, emu.settings.validation_timeout
        )
        if failure is not None:
            # Documented: a failed validation means 400 and no subscription. The code and
            # message are made up in Graph's shape.
            raise GraphError(
                400,
                "ValidationError",
                f"Subscription validation request failed for '{url}': {failure}. The endpoint "
                "must answer 200 OK with the validation token as text/plain within "
                f"{emu.settings.validation_timeout:g} seconds.",
            )


async def create_subscription(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    now = emu.clock.now()
    subscription = new_subscription(call.json_object(), now, sample.APPLICATION_ID)
    if len(emu.subscriptions.live(now)) >= MAX_PER_APP_AND_TENANT:
        # Documented limit and status; the wording is made up.
        raise GraphError(
            403,
            "ExtensionError",
            f"Subscription quota reached: at most {MAX_PER_APP_AND_TENANT} subscriptions per "
            "app and tenant.",
        )
    urls = [subscription.notification_url]
    if subscription.lifecycle_url is not None:
        urls.append(subscription.lifecycle_url)
    await _validate(emu, urls)
    emu.subscriptions.put(subscription)
    return Reply(201, subscription.to_json(emu.base_url))


async def list_subscriptions(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    items = []
    for subscription in emu.subscriptions.live(emu.clock.now()):
        shaped = subscription.to_json(emu.base_url)
        shaped.pop("@odata.context")
        items.append(shaped)
    return Reply(200, {"@odata.context": f"{emu.base_url}/$metadata#subscriptions", "value": items})


async def get_subscription(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    subscription = emu.subscriptions.get(params["id"], emu.clock.now())
    return Reply(200, subscription.to_json(emu.base_url))


async def update_subscription(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    now = emu.clock.now()
    current = emu.subscriptions.get(params["id"], now)
    updated = patched(current, call.json_object(), now)
    if updated.notification_url != current.notification_url:
        await _validate(emu, [updated.notification_url])
    emu.subscriptions.put(updated)
    return Reply(200, updated.to_json(emu.base_url))


async def delete_subscription(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    emu.subscriptions.delete(params["id"], emu.clock.now())
    return NO_CONTENT


async def reauthorize(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    """Lifts a delivery pause without extending the expiry."""
    current = emu.subscriptions.get(params["id"], emu.clock.now())
    emu.subscriptions.put(replace(current, paused=False))
    return NO_CONTENT

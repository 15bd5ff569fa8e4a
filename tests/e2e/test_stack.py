"""Graph notification -> webhook -> Azurite queue -> worker -> membership, all over real HTTP.

Tests run in file order on one session stack; each waits with a deadline, never a sleep.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from azure.storage.queue import QueueClient

from harness.stack import CLIENT_STATE, ROOT, Stack, notification, subscribe
from reconciler.policy import load_policy
from reconciler.work import message as work
from reconciler.work.storage import StorageWorkQueue
from tests.devhost.fixtures import wait_until

SALES = "10000000-0000-4000-8000-000000000001"
ENGINEERING = "10000000-0000-4000-8000-000000000002"
TOKEN = {"Authorization": "Bearer e2e"}


def members(stack: Stack, group_id: str) -> set[str]:
    return set(stack.graph.export_tenant()["members"][group_id])


def outsiders(stack: Stack, count: int) -> list[str]:
    """Enabled users outside Sales (and not members of it) who are not already chosen."""
    tenant = stack.graph.export_tenant()
    current = set(tenant["members"][SALES])
    found = [
        u["id"]
        for u in tenant["users"]
        if u.get("department") not in ("Sales", None)
        and u.get("accountEnabled")
        and u["id"] not in current
        and u["id"] not in outsiders.used
    ]
    outsiders.used.update(found[:count])
    return found[:count]


outsiders.used = set()  # type: ignore[attr-defined]


def queue_is_empty(stack: Stack) -> bool:
    client = QueueClient.from_connection_string(stack.connection, stack.queue)
    properties = client.get_queue_properties()
    return properties.approximate_message_count == 0


def applied_adds(stack: Stack, user_id: str, group_id: str) -> int:
    return sum(
        1
        for w in stack.graph.writes()
        if w["applied"]
        and w["memberId"] == user_id
        and w["groupId"] == group_id
        and w["action"] == "add"
    )


def test_a_forged_client_state_enqueues_nothing(stack: Stack) -> None:
    forged, genuine = outsiders(stack, 2)
    for user_id in (forged, genuine):  # no subscription yet: the emulator notifies nobody
        stack.graph.patch_user(user_id, department="Sales")
    url = stack.host.url("notifications")
    answer = httpx.post(url, json={"value": [notification(forged, "not-the-secret")]})
    assert answer.status_code == 202
    assert httpx.post(url, json={"value": [notification(genuine)]}).status_code == 202
    wait_until(lambda: genuine in members(stack, SALES), what="the genuine user's membership")
    wait_until(lambda: queue_is_empty(stack), what="the queue to drain")
    assert forged not in members(stack, SALES)


@pytest.mark.parametrize("body", [b"{not json", b'{"value": "nope"}'])
def test_a_body_that_is_no_notification_collection_is_a_400(stack: Stack, body: bytes) -> None:
    answer = httpx.post(stack.host.url("notifications"), content=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "InvalidNotification"


def test_a_collection_of_bad_items_is_a_202_that_says_nothing(stack: Stack) -> None:
    answer = httpx.post(stack.host.url("notifications"), content=b'{"value": [{"id": 1}]}')
    assert (answer.status_code, answer.content) == (202, b"")


def test_an_attribute_change_reaches_the_membership_in_seconds(stack: Stack) -> None:
    created = subscribe(stack, CLIENT_STATE)
    assert created.status_code == 201, created.text  # the handshake went through devhost
    [user_id] = outsiders(stack, 1)
    started = time.monotonic()
    edited = httpx.patch(
        f"{stack.graph.base_url}/users/{user_id}", headers=TOKEN, json={"department": "Sales"}
    )
    assert edited.status_code == 204
    wait_until(lambda: user_id in members(stack, SALES), timeout=10, what="the membership")
    assert time.monotonic() - started < 10


def test_duplicate_notifications_make_one_write(stack: Stack) -> None:
    [user_id] = outsiders(stack, 1)
    stack.graph.update_settings(duplicate_notifications=True)
    try:
        stack.graph.patch_user(user_id, department="Sales")
        wait_until(lambda: user_id in members(stack, SALES), what="the membership")
        wait_until(lambda: queue_is_empty(stack), what="the queue (and rechecks) to drain")
    finally:
        stack.graph.update_settings(duplicate_notifications=False)
    assert applied_adds(stack, user_id, SALES) == 1


def test_a_message_that_always_fails_is_poisoned_and_the_next_is_processed(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    doomed, next_user = outsiders(stack, 2)
    stack.graph.add_fault(kind="status", status=503, route=f"/users/{doomed}", scope="batch")
    [message] = work.users_messages([doomed], cause="sync")
    caplog.set_level(logging.INFO, logger="reconciler.webhook")
    asyncio.run(StorageWorkQueue(stack.connection, stack.queue).send(work.encode(message)))
    stack.graph.patch_user(next_user, department="Sales")
    wait_until(lambda: next_user in members(stack, SALES), what="the next message's work")

    def dead_letters() -> list[dict]:
        records = [
            json.loads(r.getMessage())
            for r in caplog.records
            if r.name == "reconciler.webhook" and '"poison"' in r.getMessage()
        ]
        return [r for r in records if doomed in r["body"]]

    # The poison-queue trigger logs each dead message (body included) as one record.
    [record] = wait_until(dead_letters, timeout=15, what="the dead message's record")
    dead = work.decode(record["body"])
    assert dead.user_ids == (doomed,) and record["dequeueCount"] >= 1
    assert doomed not in members(stack, SALES)


def test_the_sync_endpoints_converge_a_user_and_a_group(stack: Stack) -> None:
    seller = sorted(
        members(stack, SALES)
        & {u["id"] for u in stack.graph.export_tenant()["users"] if u.get("department") == "Sales"}
    )[0]
    removed = httpx.delete(  # a manual change behind our back: no user notification follows
        f"{stack.graph.base_url}/groups/{SALES}/members/{seller}/$ref", headers=TOKEN
    )
    assert removed.status_code == 204
    answer = httpx.post(stack.host.url("sync_user").replace("{id}", seller))
    assert answer.status_code == 202 and answer.json()["status"] == "queued"
    wait_until(lambda: seller in members(stack, SALES), what="the user's membership back")

    tenant_users = {u["id"]: u for u in stack.graph.export_tenant()["users"]}
    rule = load_policy(ROOT / "rules.sample.toml").group(ENGINEERING).rule
    expected = {uid for uid, u in tenant_users.items() if rule.matches(u)}
    group = httpx.post(stack.host.url("sync_group").replace("{id}", ENGINEERING))
    assert group.status_code == 202
    wait_until(
        lambda: members(stack, ENGINEERING) & set(tenant_users) == expected, what="the group"
    )


def test_messages_written_by_our_storage_client_are_base64_as_the_host_expects(
    stack: Stack,
) -> None:
    queue = StorageWorkQueue(stack.connection, "roundtrip-check")
    [message] = work.users_messages(["11111111-2222-3333-4444-555555555555"], cause="sweep")
    asyncio.run(queue.send(work.encode(message)))
    raw = QueueClient.from_connection_string(stack.connection, "roundtrip-check")
    [peeked] = raw.peek_messages()
    assert work.decode(base64.b64decode(peeked.content)) == message
    assert json.loads(base64.b64decode(peeked.content))["v"] == 1


def subscriptions(stack: Stack) -> list[dict]:
    answer = httpx.get(f"{stack.graph.base_url}/subscriptions", headers=TOKEN)
    return answer.json()["value"]


def test_subscription_upkeep_and_reauthorization_run_through_the_host(stack: Stack) -> None:
    started = httpx.post(
        f"{stack.host.base_url}/admin/functions/subscription_upkeep", json={"input": ""}
    )
    assert started.status_code == 202

    def ours() -> list[dict]:
        found = [
            s
            for s in subscriptions(stack)
            if s.get("lifecycleNotificationUrl") == stack.host.url("lifecycle")
        ]
        return found if len(subscriptions(stack)) == 1 else []

    [subscription] = wait_until(ours, what="one subscription with the lifecycle URL")
    assert subscription["notificationUrl"] == stack.host.url("notifications")

    # Graph asks for reauthorization and holds notifications until it happens.
    stack.graph.send_lifecycle(subscription["id"], pause_delivery=True)
    [user_id] = outsiders(stack, 1)
    edited = httpx.patch(
        f"{stack.graph.base_url}/users/{user_id}", headers=TOKEN, json={"department": "Sales"}
    )
    assert edited.status_code == 204
    # The lifecycle webhook queued a renewal; the worker reauthorized, delivery resumed.
    wait_until(lambda: user_id in members(stack, SALES), timeout=10, what="delivery resumed")


def test_subscription_upkeep_renews_a_subscription_close_to_expiry(stack: Stack) -> None:
    [subscription] = subscriptions(stack)
    soon = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    patched = httpx.patch(
        f"{stack.graph.base_url}/subscriptions/{subscription['id']}",
        headers=TOKEN,
        json={"expirationDateTime": soon},
    )
    assert patched.status_code == 200
    started = httpx.post(
        f"{stack.host.base_url}/admin/functions/subscription_upkeep", json={"input": ""}
    )
    assert started.status_code == 202

    def renewed() -> str | None:
        [current] = subscriptions(stack)
        expiry = datetime.fromisoformat(current["expirationDateTime"].replace("Z", "+00:00"))
        return current["id"] if expiry > datetime.now(UTC) + timedelta(days=20) else None

    assert wait_until(renewed, what="the renewed expiry") == subscription["id"]  # same one

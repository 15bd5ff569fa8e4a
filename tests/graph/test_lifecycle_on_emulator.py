"""Lifecycle messages in the worker, on the emulator and Azurite's tables: a removed
subscription is made again and followed by a catch-up, `missed` catches up, a lost delta link
falls back to a full run."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from reconciler.settings import Settings
from reconciler.work import message as work
from reconciler.work.worker import process_message
from tests.devhost.fixtures import azurite  # noqa: F401 - the session fixture
from tests.graph.test_worker_on_emulator import RecordingQueue, outsider, worker_env  # noqa: F401
from tests.graph_emulator.receiver import WebhookReceiver

TOKEN = {"Authorization": "Bearer t"}


@pytest.fixture
def lifecycle_env(worker_env, receiver: WebhookReceiver):  # noqa: F811
    settings, factory = worker_env
    settings = replace(
        settings,
        notification_url=receiver.url("/api/notifications"),
        lifecycle_notification_url=receiver.url("/api/lifecycle"),
        client_state="s3cret-client-state",
    )
    return settings, factory


async def handle(message: work.Message, settings: Settings, factory, queue: RecordingQueue):
    return await process_message(work.encode(message), settings, queue, factory)


def lifecycle_message(action: str, subscription_id: str | None = None) -> work.MaintenanceMessage:
    """What the webhook queues for a lifecycle event."""
    return work.maintenance_message(action, cause="notification", subscription_id=subscription_id)


def catch_up_message() -> work.MaintenanceMessage:
    return lifecycle_message("catch-up")


def queued_users(queue: RecordingQueue) -> list[tuple[str, ...]]:
    decoded = [work.decode(text) for text, _ in queue.sent]
    return [m.user_ids for m in decoded if isinstance(m, work.UsersMessage)]


def live_subscriptions(graph) -> list[dict]:
    response = httpx.get(f"{graph.base_url}/subscriptions", headers=TOKEN)
    return response.json()["value"]


async def test_missed_catches_up_the_users_changed_since_the_last_catch_up(
    graph, lifecycle_env
) -> None:
    settings, factory = lifecycle_env
    queue = RecordingQueue()
    first = await handle(catch_up_message(), settings, factory, queue)
    assert first.outcome.kind == "done"
    assert queue.sent == []  # the first one only starts the link
    user = outsider(graph)
    graph.patch_user(user, department="Sales")
    second = await handle(catch_up_message(), settings, factory, queue)
    assert second.outcome.kind == "done"
    assert queued_users(queue) == [(user,)]
    (message,) = [work.decode(text) for text, _ in queue.sent]
    assert message.cause == "catchup"
    third = await handle(catch_up_message(), settings, factory, RecordingQueue())
    assert third.outcome.kind == "done"  # and nothing is queued twice from the same link


async def test_subscription_removed_makes_a_new_one_then_catches_up_the_gap(
    graph, lifecycle_env
) -> None:
    settings, factory = lifecycle_env
    queue = RecordingQueue()
    await handle(lifecycle_message("recreate-subscription"), settings, factory, queue)
    (first,) = live_subscriptions(graph)
    graph.send_lifecycle(first["id"], "subscriptionRemoved")
    assert live_subscriptions(graph) == []
    user = outsider(graph)
    graph.patch_user(user, department="Sales")  # while no subscription exists
    message = lifecycle_message("recreate-subscription", first["id"])
    done = await handle(message, settings, factory, queue)
    assert done.outcome.kind == "done"
    (second,) = live_subscriptions(graph)
    assert second["id"] != first["id"]
    assert second["lifecycleNotificationUrl"] == settings.lifecycle_notification_url
    assert queued_users(queue) == [(user,)]


async def test_a_renewal_that_had_to_create_the_subscription_also_catches_up(
    graph, lifecycle_env
) -> None:
    settings, factory = lifecycle_env
    await handle(catch_up_message(), settings, factory, RecordingQueue())  # a link exists
    user = outsider(graph)
    graph.patch_user(user, department="Sales")
    queue = RecordingQueue()
    gone = "00000000-0000-4000-8000-00000000dead"
    done = await handle(lifecycle_message("renew-subscription", gone), settings, factory, queue)
    assert done.outcome.kind == "done"
    assert len(live_subscriptions(graph)) == 1
    assert queued_users(queue) == [(user,)]


async def test_a_reauthorization_catches_up_the_changes_lost_while_delivery_was_paused(
    graph, lifecycle_env
) -> None:
    settings, factory = lifecycle_env
    await handle(catch_up_message(), settings, factory, RecordingQueue())  # a link exists
    await handle(lifecycle_message("recreate-subscription"), settings, factory, RecordingQueue())
    (subscription,) = live_subscriptions(graph)
    graph.send_lifecycle(subscription["id"], pause_delivery=True)
    user = outsider(graph)
    graph.patch_user(user, department="Sales")  # lost: delivery is paused
    queue = RecordingQueue()
    message = lifecycle_message("renew-subscription", subscription["id"])
    done = await handle(message, settings, factory, queue)
    assert done.outcome.kind == "done"
    assert [s["id"] for s in live_subscriptions(graph)] == [subscription["id"]]  # renewed
    assert queued_users(queue) == [(user,)]
    lost = [e for e in graph.notifications()["value"] if e["outcome"] == "lost-while-paused"]
    assert lost  # the change really was never notified


async def test_a_link_graph_lost_is_replaced_and_a_full_run_repairs_instead(
    graph, lifecycle_env
) -> None:
    settings, factory = lifecycle_env
    await handle(catch_up_message(), settings, factory, RecordingQueue())
    graph.expire_delta_tokens()
    graph.clear_requests()
    queue = RecordingQueue()
    done = await handle(catch_up_message(), settings, factory, queue)
    assert done.outcome.kind in ("done", "held")
    paths = [r["path"].split("?")[0] for r in graph.requests()]
    assert "/users" in paths  # the full run listed every user
    assert any(p.endswith("/members") for p in paths)  # and read the managed groups
    assert queue.sent == []
    graph.clear_requests()
    await handle(catch_up_message(), settings, factory, queue)
    assert [p for r in graph.requests() if (p := r["path"].split("?")[0]) == "/users"] == []

"""Subscription upkeep on the emulator over HTTP, with the production adapter and a real
webhook receiver answering Graph's validation handshake."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import pytest

from reconciler.directory import DirectoryError
from reconciler.graph import GraphDirectory
from reconciler.plan.upkeep import (
    SAFETY_MARGIN,
    SubscriptionTarget,
    creation_body,
    parse_graph_time,
)
from reconciler.service import ensure_subscription, renew_or_reauthorize
from reconciler.settings import Settings, SettingsError
from tests.graph_emulator.receiver import WebhookReceiver

DAY = 24 * 3600


@pytest.fixture
def settings(graph, receiver: WebhookReceiver) -> Settings:
    return Settings.from_env(
        {
            "GRAPH_BASE_URL": graph.base_url,
            "GRAPH_CREDENTIAL": "static",
            "GRAPH_STATIC_TOKEN": "t",
            "NOTIFICATION_URL": receiver.url("/api/notifications"),
            "LIFECYCLE_NOTIFICATION_URL": receiver.url("/api/lifecycle"),
            "CLIENT_STATE": "s3cret-client-state",
        }
    )


def graph_now(graph, advance_seconds: float = 0) -> datetime:
    """The emulator's clock (tests move it forward), so our `now` agrees with Graph's."""
    moment = parse_graph_time(graph.advance_clock(advance_seconds))
    assert moment is not None
    return moment


def subscription_calls(graph) -> list[tuple[str, str, int]]:
    return [
        (r["method"], r["path"].split("?")[0], r["status"])
        for r in graph.requests()
        if r["path"].startswith("/subscriptions")
    ]


def writes(graph) -> list[tuple[str, str, int]]:
    return [call for call in subscription_calls(graph) if call[0] != "GET"]


async def test_creates_the_subscription_when_none_exists_after_the_handshake(
    graph, directory: GraphDirectory, settings: Settings, receiver: WebhookReceiver, caplog
) -> None:
    now = graph_now(graph)
    with caplog.at_level(logging.INFO, logger="reconciler.audit"):
        outcome = await ensure_subscription(directory, settings, now)

    assert outcome.created and not outcome.deleted
    [listed] = await directory.subscriptions()
    assert listed["id"] == outcome.subscription_id
    assert listed["resource"] == "users"
    assert listed["changeType"] == "updated,deleted"
    assert listed["notificationUrl"] == settings.notification_url
    assert listed["lifecycleNotificationUrl"] == settings.lifecycle_notification_url
    assert listed["clientState"] == "s3cret-client-state"
    expected = now + timedelta(minutes=41_760) - SAFETY_MARGIN
    assert abs(outcome.expiration - expected) < timedelta(seconds=1)
    # Graph validated both URLs against the receiver before it answered 201.
    assert sorted(v.path for v in receiver.validations()) == [
        "/api/lifecycle",
        "/api/notifications",
    ]
    records = [json.loads(r.getMessage()) for r in caplog.records]
    assert [(r["event"], r["action"]) for r in records] == [("subscription", "create")]
    assert records[0]["subscriptionId"] == outcome.subscription_id
    assert "s3cret-client-state" not in caplog.text


async def test_a_healthy_subscription_is_left_alone(
    graph, directory: GraphDirectory, settings: Settings
) -> None:
    first = await ensure_subscription(directory, settings, graph_now(graph))
    graph.clear_requests()

    second = await ensure_subscription(directory, settings, graph_now(graph, 10 * DAY))

    assert [a.kind for a in second.actions] == ["keep"]
    assert second.subscription_id == first.subscription_id
    assert second.expiration == first.expiration
    assert subscription_calls(graph) == [("GET", "/subscriptions", 200)]


async def test_renews_when_less_than_seven_days_are_left(
    graph, directory: GraphDirectory, settings: Settings
) -> None:
    first = await ensure_subscription(directory, settings, graph_now(graph))
    graph.clear_requests()

    later = graph_now(graph, 23 * DAY)  # 29 days less 15 minutes, less 23 days: under 6 left
    outcome = await ensure_subscription(directory, settings, later)

    assert [(a.kind, a.subscription_id) for a in outcome.actions] == [
        ("renew", first.subscription_id)
    ]
    assert outcome.expiration > first.expiration + timedelta(days=22)
    [listed] = await directory.subscriptions()
    assert parse_graph_time(listed["expirationDateTime"]) == outcome.expiration
    path = f"/subscriptions/{first.subscription_id}"
    assert writes(graph) == [("PATCH", path, 200)]


async def test_duplicates_are_cleaned_keeping_the_newest(
    graph, directory: GraphDirectory, settings: Settings
) -> None:
    now = graph_now(graph)
    target = SubscriptionTarget.from_settings(settings)
    ids = [
        (await directory.create_subscription(creation_body(target, now + timedelta(days=d))))["id"]
        for d in (20, 25, 15)
    ]

    outcome = await ensure_subscription(directory, settings, now)

    assert outcome.subscription_id == ids[1]
    assert sorted(outcome.deleted) == sorted([ids[0], ids[2]])
    assert [s["id"] for s in await directory.subscriptions()] == [ids[1]]


async def test_a_subscription_graph_already_deleted_for_expiry_is_recreated(
    graph, directory: GraphDirectory, settings: Settings
) -> None:
    target = SubscriptionTarget.from_settings(settings)
    old = await directory.create_subscription(
        creation_body(target, graph_now(graph) + timedelta(hours=1))
    )

    outcome = await ensure_subscription(directory, settings, graph_now(graph, 2 * 3600))

    assert outcome.created and outcome.subscription_id != old["id"]
    assert [s["id"] for s in await directory.subscriptions()] == [outcome.subscription_id]


async def test_a_listed_subscription_past_its_expiry_is_replaced_and_deleted(
    graph, directory: GraphDirectory, settings: Settings
) -> None:
    # Our clock two minutes ahead of Graph's: the listing still shows one we see as expired.
    now = graph_now(graph)
    target = SubscriptionTarget.from_settings(settings)
    old = await directory.create_subscription(creation_body(target, now + timedelta(minutes=1)))

    outcome = await ensure_subscription(directory, settings, now + timedelta(minutes=2))

    assert [(a.kind, a.subscription_id) for a in outcome.actions] == [
        ("create", None),
        ("delete", old["id"]),
    ]
    assert [s["id"] for s in await directory.subscriptions()] == [outcome.subscription_id]
    assert ("DELETE", f"/subscriptions/{old['id']}", 204) in writes(graph)


async def test_reauthorization_required_reauthorizes_then_renews(
    graph, directory: GraphDirectory, settings: Settings, receiver: WebhookReceiver
) -> None:
    first = await ensure_subscription(directory, settings, graph_now(graph))
    graph.send_lifecycle(first.subscription_id, pause_delivery=True)
    receiver.wait_for(lambda: any(r.path == "/api/lifecycle" for r in receiver.notifications()))
    graph.clear_requests()

    later = graph_now(graph, 3 * DAY)
    outcome = await renew_or_reauthorize(directory, settings, first.subscription_id, later)

    path = f"/subscriptions/{first.subscription_id}"
    assert writes(graph) == [("POST", f"{path}/reauthorize", 204), ("PATCH", path, 200)]
    assert [a.kind for a in outcome.actions] == ["reauthorize", "renew"]
    assert outcome.subscription_id == first.subscription_id
    assert abs(outcome.expiration - first.expiration - timedelta(days=3)) < timedelta(seconds=2)
    # Delivery resumed: a user change reaches the notification URL again.
    user_id = graph.export_tenant()["users"][0]["id"]
    graph.patch_user(user_id, department="Upkeep")
    receiver.wait_for(
        lambda: any(
            item["resourceData"]["id"] == user_id
            for post in receiver.notifications()
            if post.path == "/api/notifications"
            for item in post.items
        )
    )


async def test_reauthorization_for_a_subscription_graph_no_longer_has_creates_ours(
    graph, directory: GraphDirectory, settings: Settings
) -> None:
    first = await ensure_subscription(directory, settings, graph_now(graph))
    await directory.delete_subscription(first.subscription_id)

    outcome = await renew_or_reauthorize(directory, settings, first.subscription_id)

    assert outcome.created and outcome.subscription_id != first.subscription_id
    assert [s["id"] for s in await directory.subscriptions()] == [outcome.subscription_id]


async def test_a_handshake_the_receiver_fails_is_a_clear_error(
    graph, directory: GraphDirectory, settings: Settings, receiver: WebhookReceiver
) -> None:
    receiver.validation = "wrong"

    with pytest.raises(DirectoryError) as caught:
        await ensure_subscription(directory, settings, graph_now(graph))

    error = caught.value
    assert (error.status, error.code) == (400, "ValidationError")
    assert "NOTIFICATION_URL" in str(error)
    assert settings.notification_url in str(error)
    assert receiver.validations()  # Graph did try the receiver
    assert await directory.subscriptions() == []


async def test_missing_notification_url_is_a_settings_error_before_any_graph_call(
    graph, directory: GraphDirectory
) -> None:
    settings = Settings.from_env({"CLIENT_STATE": "s3cret"})

    with pytest.raises(SettingsError, match="NOTIFICATION_URL is not set"):
        await ensure_subscription(directory, settings)

    assert subscription_calls(graph) == []

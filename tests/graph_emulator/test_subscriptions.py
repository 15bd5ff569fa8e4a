"""Subscriptions on users: the validation handshake, Graph's limits and the CRUD answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from graph_emulator import EmulatorServer
from tests.graph_emulator.graph_api import Api, assert_graph_error
from tests.graph_emulator.receiver import WebhookReceiver


def expires_in(minutes: float) -> str:
    moment = datetime.now(UTC) + timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def subscription_body(receiver: WebhookReceiver, **changes: Any) -> dict[str, Any]:
    body = {
        "changeType": "updated,deleted",
        "notificationUrl": receiver.url("/notify"),
        "lifecycleNotificationUrl": receiver.url("/lifecycle"),
        "resource": "users",
        "expirationDateTime": expires_in(60),
        "clientState": "s3cret",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def test_create_validates_both_urls_then_answers_201(api: Api, receiver: WebhookReceiver) -> None:
    body = subscription_body(receiver, lifecycleNotificationUrl=receiver.url("/notify"))
    response = api.post("/subscriptions", body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["@odata.context"].endswith("#subscriptions/$entity")
    for key in (
        "changeType",
        "notificationUrl",
        "lifecycleNotificationUrl",
        "resource",
        "clientState",
    ):
        assert created[key] == body[key]
    assert created["latestSupportedTlsVersion"] == "v1_2"
    assert created["applicationId"] and created["id"]
    validations = receiver.validations()
    assert len(validations) == 2  # the same URL twice gets two validation requests
    for validation in validations:
        assert validation.path == "/notify"
        assert validation.query["code"] == "function-key"  # the existing query stays
        token = validation.query["validationToken"]
        assert " " in token and ":" in token  # decoded, as real tokens look
        assert validation.content_type.startswith("text/plain")


@pytest.mark.parametrize("mode", ["wrong", "json", "error"])
def test_a_failed_validation_means_400_and_no_subscription(
    api: Api, receiver: WebhookReceiver, mode: str
) -> None:
    receiver.validation = mode
    assert_graph_error(
        api.post("/subscriptions", subscription_body(receiver)), 400, "ValidationError"
    )
    assert api.get("/subscriptions").json()["value"] == []


def test_a_validation_slower_than_the_limit_fails(
    api: Api, receiver: WebhookReceiver, graph: EmulatorServer
) -> None:
    graph.update_settings(validation_timeout_seconds=0.2)
    receiver.validation = "slow"
    error = assert_graph_error(
        api.post("/subscriptions", subscription_body(receiver)), 400, "ValidationError"
    )
    assert "no answer within 0.2 seconds" in error["message"]


def test_urls_must_be_https_or_loopback(api: Api, receiver: WebhookReceiver) -> None:
    plain = subscription_body(receiver, notificationUrl="http://example.org/hook")
    assert_graph_error(api.post("/subscriptions", plain), 400, "InvalidRequest")
    remote = subscription_body(receiver, notificationUrl="https://example.org/hook")
    assert_graph_error(api.post("/subscriptions", remote), 400, "InvalidRequest")
    assert receiver.validations() == []


def test_expiration_is_limited_to_41760_minutes(api: Api, receiver: WebhookReceiver) -> None:
    too_far = subscription_body(receiver, expirationDateTime=expires_in(41_760 + 5))
    assert_graph_error(
        api.post("/subscriptions", too_far),
        400,
        "ExtensionError",
        "Subscription expiration can only be 41760 minutes in the future.",
    )
    past = subscription_body(receiver, expirationDateTime=expires_in(-1))
    assert_graph_error(api.post("/subscriptions", past), 400, "ExtensionError")
    just_inside = subscription_body(receiver, expirationDateTime=expires_in(41_760 - 5))
    assert api.post("/subscriptions", just_inside).status_code == 201


def test_client_state_is_at_most_128_characters(api: Api, receiver: WebhookReceiver) -> None:
    assert_graph_error(
        api.post("/subscriptions", subscription_body(receiver, clientState="x" * 129)),
        400,
        "InvalidRequest",
    )
    ok = api.post("/subscriptions", subscription_body(receiver, clientState="x" * 128))
    assert ok.status_code == 201


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"changeType": "created"}, "Invalid 'changeType' attribute: 'created'."),
        ({"changeType": "updated,created"}, "Invalid 'changeType' attribute: 'created'."),
        ({"resource": "groups"}, None),
        ({"includeResourceData": True}, None),
        ({"notificationUrl": None}, None),
    ],
)
def test_requests_graph_refuses_for_users(
    api: Api, receiver: WebhookReceiver, change: dict, message: str | None
) -> None:
    body = {**subscription_body(receiver), **change}
    body = {k: v for k, v in body.items() if v is not None}
    assert_graph_error(api.post("/subscriptions", body), 400, "InvalidRequest", message)


def test_list_get_renew_reauthorize_and_delete(api: Api, receiver: WebhookReceiver) -> None:
    created = api.post("/subscriptions", subscription_body(receiver, resource="/users")).json()
    path = f"/subscriptions/{created['id']}"
    assert created["resource"] == "users"
    assert [s["id"] for s in api.get("/subscriptions").json()["value"]] == [created["id"]]
    assert api.get(path).json()["clientState"] == "s3cret"
    renewed = api.patch(path, {"expirationDateTime": expires_in(600)})
    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"] > created["expirationDateTime"]
    assert_graph_error(
        api.patch(path, {"lifecycleNotificationUrl": receiver.url("/other")}), 400, "InvalidRequest"
    )
    assert_graph_error(
        api.patch(path, {"expirationDateTime": expires_in(50_000)}), 400, "ExtensionError"
    )
    assert api.post(f"{path}/reauthorize").status_code == 204
    assert api.delete(path).status_code == 204
    assert_graph_error(api.get(path), 404, "ResourceNotFound")
    assert_graph_error(api.delete(path), 404, "ResourceNotFound")


def test_changing_the_notification_url_validates_it_again(
    api: Api, receiver: WebhookReceiver
) -> None:
    created = api.post("/subscriptions", subscription_body(receiver)).json()
    before = len(receiver.validations())
    moved = api.patch(f"/subscriptions/{created['id']}", {"notificationUrl": receiver.url("/new")})
    assert moved.status_code == 200
    assert [v.path for v in receiver.validations()[before:]] == ["/new"]


def test_an_expired_subscription_is_gone(
    api: Api, receiver: WebhookReceiver, graph: EmulatorServer
) -> None:
    created = api.post("/subscriptions", subscription_body(receiver)).json()
    graph.advance_clock(61 * 60)
    path = f"/subscriptions/{created['id']}"
    assert_graph_error(api.get(path), 404, "ResourceNotFound")
    assert_graph_error(
        api.patch(path, {"expirationDateTime": expires_in(120)}), 404, "ResourceNotFound"
    )
    assert api.get("/subscriptions").json()["value"] == []


def test_at_most_100_subscriptions_per_app_and_tenant(api: Api, receiver: WebhookReceiver) -> None:
    body = subscription_body(receiver, lifecycleNotificationUrl=None)
    for _ in range(100):
        assert api.post("/subscriptions", body).status_code == 201
    assert_graph_error(api.post("/subscriptions", body), 403, "ExtensionError")

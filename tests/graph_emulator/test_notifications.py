"""Change and lifecycle notifications delivered to a real local webhook receiver.

Absence is proved with a sentinel: deliveries to one URL go out in order, so once a later
change has arrived, an earlier one that never came was not sent.
"""

from __future__ import annotations

import pytest

from graph_emulator import ControlError, EmulatorServer, sample
from tests.graph_emulator.graph_api import Api
from tests.graph_emulator.receiver import WebhookReceiver
from tests.graph_emulator.test_subscriptions import expires_in, subscription_body


@pytest.fixture
def member_ids(api: Api) -> list[str]:
    users = api.all_pages("/users?$select=id,userType,onPremisesSyncEnabled&$top=999")
    return [u["id"] for u in users if u["userType"] == "Member" and u["id"] != sample.CEO_ID]


@pytest.fixture
def fast_retries(graph: EmulatorServer) -> None:
    graph.update_settings(notification_retry_delay_seconds=0.01, notification_timeout_seconds=2)


def subscribe(api: Api, receiver: WebhookReceiver, **changes) -> dict:
    response = api.post("/subscriptions", subscription_body(receiver, **changes))
    assert response.status_code == 201, response.text
    return response.json()


def touch(api: Api, user_id: str, title: str = "Changed") -> None:
    assert api.patch(f"/users/{user_id}", {"jobTitle": title}).status_code == 204


def ids(receiver: WebhookReceiver) -> list[str]:
    """The user ids of change notifications, in arrival order (lifecycle posts left out)."""
    return [
        item["resourceData"]["id"]
        for post in receiver.notifications()
        if post.path == "/notify"
        for item in post.items
    ]


def test_an_update_arrives_in_graphs_shape(
    api: Api, receiver: WebhookReceiver, member_ids: list[str]
) -> None:
    subscription = subscribe(api, receiver)
    touch(api, member_ids[0])
    receiver.wait_for(lambda: len(receiver.items()) == 1)
    post = receiver.notifications()[0]
    assert post.path == "/notify" and post.query == {"code": "function-key"}
    assert post.content_type.startswith("application/json")
    (item,) = post.items
    assert item["subscriptionId"] == subscription["id"]
    assert item["clientState"] == "s3cret"
    assert item["changeType"] == "updated"
    assert item["resource"] == f"Users/{member_ids[0]}"
    assert item["tenantId"] == sample.TENANT_ID
    assert item["subscriptionExpirationDateTime"] == subscription["expirationDateTime"]
    data = item["resourceData"]
    assert data["@odata.type"] == "#Microsoft.Graph.User"
    assert data["@odata.id"] == f"Users/{member_ids[0]}"
    assert data["id"] == member_ids[0]
    assert data["organizationId"] == sample.TENANT_ID


def test_create_and_soft_delete_are_updated_and_hard_delete_is_deleted(
    api: Api, receiver: WebhookReceiver
) -> None:
    subscribe(api, receiver)
    created = api.post(
        "/users",
        {
            "accountEnabled": True,
            "displayName": "New Hire",
            "mailNickname": "new.hire",
            "userPrincipalName": "new.hire@fabrikam.example",
            "passwordProfile": {"password": "x"},
        },
    ).json()
    api.delete(f"/users/{created['id']}")
    api.delete(f"/directory/deletedItems/{created['id']}")
    receiver.wait_for(lambda: len(receiver.items()) == 3)
    assert [i["changeType"] for i in receiver.items()] == ["updated", "updated", "deleted"]
    assert set(ids(receiver)) == {created["id"]}


def test_a_subscription_gets_only_the_change_types_and_user_it_asked_for(
    api: Api, receiver: WebhookReceiver, member_ids: list[str]
) -> None:
    subscribe(api, receiver, changeType="updated", resource=f"users/{member_ids[0]}")
    api.delete(f"/users/{member_ids[0]}")
    api.delete(f"/directory/deletedItems/{member_ids[0]}")  # `deleted`: not subscribed
    touch(api, member_ids[1])  # another user: not subscribed
    api.post(f"/directory/deletedItems/{member_ids[0]}/restore")
    receiver.wait_for(lambda: receiver.notifications() != [])
    assert ids(receiver) == [member_ids[0]]
    assert [i["changeType"] for i in receiver.items()] == ["updated"]


def test_changes_that_pile_up_share_one_post_across_subscriptions(
    api: Api, receiver: WebhookReceiver, member_ids: list[str]
) -> None:
    first = subscribe(api, receiver)
    second = subscribe(api, receiver)
    receiver.stall_next = 1
    touch(api, member_ids[0])
    receiver.wait_for(lambda: len(receiver.notifications()) >= 1)
    for user_id in member_ids[1:4]:
        touch(api, user_id)
    receiver.release.set()
    receiver.wait_for(lambda: len(receiver.items()) == 8)
    posts = receiver.notifications()
    assert len(posts) == 2
    assert len(posts[1].items) == 6
    assert {i["subscriptionId"] for i in posts[1].items} == {first["id"], second["id"]}


def test_a_failing_endpoint_is_retried_until_it_answers(
    api: Api, receiver: WebhookReceiver, graph: EmulatorServer, member_ids: list[str], fast_retries
) -> None:
    subscribe(api, receiver)
    receiver.statuses = [500, 503]
    touch(api, member_ids[0])
    receiver.wait_for(lambda: len(receiver.notifications()) == 3)
    assert ids(receiver) == [member_ids[0]] * 3
    log = graph.wait_for_notifications()
    assert [(e["outcome"], e["status"]) for e in log] == [
        ("will-retry", 500),
        ("will-retry", 503),
        ("delivered", 202),
    ]


def test_retries_are_bounded(
    api: Api, receiver: WebhookReceiver, graph: EmulatorServer, member_ids: list[str], fast_retries
) -> None:
    graph.update_settings(notification_retries=2)
    subscribe(api, receiver)
    receiver.statuses = [500] * 10
    touch(api, member_ids[0])
    log = graph.wait_for_notifications()
    assert [e["outcome"] for e in log] == ["will-retry", "will-retry", "dropped"]
    assert len(receiver.notifications()) == 3


def test_a_slow_endpoint_times_out_and_gets_the_notification_again(
    api: Api, receiver: WebhookReceiver, graph: EmulatorServer, member_ids: list[str], fast_retries
) -> None:
    graph.update_settings(notification_timeout_seconds=0.3)
    subscribe(api, receiver)
    receiver.stall_next = 1
    touch(api, member_ids[0])
    log = graph.wait_for_notifications()
    assert [e["outcome"] for e in log] == ["will-retry", "delivered"]
    assert log[0]["error"] == "no answer within 0.3 s"
    assert ids(receiver) == [member_ids[0]] * 2


def test_an_expired_subscription_stops_delivering(
    api: Api, receiver: WebhookReceiver, graph: EmulatorServer, member_ids: list[str]
) -> None:
    subscribe(api, receiver, expirationDateTime=expires_in(30))
    receiver.stall_next = 1
    touch(api, member_ids[0])
    receiver.wait_for(lambda: len(receiver.notifications()) == 1)
    touch(api, member_ids[1])  # queued behind the stalled POST
    graph.advance_clock(31 * 60)
    receiver.release.set()
    log = graph.wait_for_notifications()
    assert log[-1]["outcome"] == "subscription-expired-or-deleted"
    assert log[-1]["resourceIds"] == [member_ids[1]]
    touch(api, member_ids[2])  # after expiry nothing is even queued
    assert graph.notifications()["pending"] == 0
    assert ids(receiver) == [member_ids[0]]


def test_duplicates_can_be_switched_on(
    api: Api, receiver: WebhookReceiver, graph: EmulatorServer, member_ids: list[str]
) -> None:
    graph.update_settings(duplicate_notifications=True)
    subscribe(api, receiver)
    touch(api, member_ids[0])
    receiver.wait_for(lambda: len(receiver.items()) == 2)
    first, second = receiver.items()
    assert first == second


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"kind": "drop", "times": 1}, [1]),
        ({"kind": "duplicate", "times": 1}, [0, 0, 1]),
        ({"kind": "reorder", "times": 1}, [1, 0]),
        ({"kind": "delay", "latencyMs": 200, "times": 1}, [1, 0]),
    ],
)
def test_notification_faults(
    api: Api,
    receiver: WebhookReceiver,
    graph: EmulatorServer,
    member_ids: list[str],
    fault: dict,
    expected: list[int],
) -> None:
    subscribe(api, receiver)
    graph.add_fault(fault, route="*/notify*")
    touch(api, member_ids[0])
    touch(api, member_ids[1])
    receiver.wait_for(lambda: len(receiver.items()) == len(expected))
    graph.wait_for_notifications()
    assert ids(receiver) == [member_ids[n] for n in expected]
    if fault["kind"] == "drop":
        assert graph.notifications()["value"][0]["outcome"] == "dropped-by-fault"


def test_reauthorization_required_goes_to_the_lifecycle_url(
    api: Api, receiver: WebhookReceiver, graph: EmulatorServer
) -> None:
    subscription = subscribe(api, receiver)
    graph.send_lifecycle(subscription["id"])
    receiver.wait_for(lambda: len(receiver.notifications()) == 1)
    post = receiver.notifications()[0]
    assert post.path == "/lifecycle"
    (item,) = post.items
    assert item["lifecycleEvent"] == "reauthorizationRequired"
    assert item["subscriptionId"] == subscription["id"]
    assert item["clientState"] == "s3cret"
    assert item["organizationId"] == sample.TENANT_ID
    assert item["resourceData"]["@odata.type"] == "#microsoft.graph.subscription"


def test_a_paused_subscription_loses_changes_until_reauthorized(
    api: Api, receiver: WebhookReceiver, graph: EmulatorServer, member_ids: list[str]
) -> None:
    subscription = subscribe(api, receiver)
    graph.send_lifecycle(subscription["id"], pause_delivery=True)
    touch(api, member_ids[0])  # lost: delivery is paused
    assert api.post(f"/subscriptions/{subscription['id']}/reauthorize").status_code == 204
    touch(api, member_ids[1])
    receiver.wait_for(lambda: member_ids[1] in ids(receiver))
    assert ids(receiver) == [member_ids[1]]
    assert any(e["outcome"] == "lost-while-paused" for e in graph.notifications()["value"])


def test_subscription_removed_deletes_the_subscription_and_later_changes_go_unnotified(
    api: Api, receiver: WebhookReceiver, graph: EmulatorServer, member_ids: list[str]
) -> None:
    subscription = subscribe(api, receiver)
    graph.send_lifecycle(subscription["id"], "subscriptionRemoved")
    receiver.wait_for(lambda: len(receiver.notifications()) == 1)
    (item,) = receiver.notifications()[0].items
    assert item["lifecycleEvent"] == "subscriptionRemoved"
    assert api.get(f"/subscriptions/{subscription['id']}").status_code == 404
    touch(api, member_ids[0])
    sentinel = subscribe(api, receiver)  # a new subscription sees the next change
    touch(api, member_ids[1])
    receiver.wait_for(lambda: member_ids[1] in ids(receiver))
    assert ids(receiver) == [member_ids[1]]
    assert sentinel["id"] != subscription["id"]


def test_lifecycle_needs_a_lifecycle_url(
    api: Api, receiver: WebhookReceiver, graph: EmulatorServer
) -> None:
    subscription = subscribe(api, receiver, lifecycleNotificationUrl=None)
    with pytest.raises(ControlError) as caught:
        graph.send_lifecycle(subscription["id"])
    assert caught.value.status == 409


@pytest.mark.parametrize("switch", [False, True])
def test_membership_writes_notify_only_when_switched_on(
    api: Api, receiver: WebhookReceiver, graph: EmulatorServer, member_ids: list[str], switch: bool
) -> None:
    graph.update_settings(notify_on_membership_writes=switch)
    subscribe(api, receiver)
    group = sample.SALES_ALL
    inside = {m["id"] for m in api.all_pages(f"/groups/{group}/members?$select=id&$top=999")}
    outsider = next(u for u in member_ids if u not in inside)
    body = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{outsider}"}
    assert api.post(f"/groups/{group}/members/$ref", body).status_code == 204
    sentinel = next(u for u in member_ids if u != outsider)
    touch(api, sentinel)
    receiver.wait_for(lambda: sentinel in ids(receiver))
    assert ids(receiver) == ([outsider, sentinel] if switch else [sentinel])


def test_the_control_api_changes_any_property_and_notifies(
    api: Api, receiver: WebhookReceiver, graph: EmulatorServer, member_ids: list[str]
) -> None:
    subscribe(api, receiver)
    plans = [{"servicePlanId": sample.EXCHANGE_ONLINE_PLAN_2, "capabilityStatus": "Suspended"}]
    changed = graph.patch_user(member_ids[0], assignedPlans=plans)
    assert changed["assignedPlans"] == plans
    receiver.wait_for(lambda: ids(receiver) == [member_ids[0]])
    read = api.get(f"/users/{member_ids[0]}?$select=assignedPlans").json()
    assert read["assignedPlans"] == plans

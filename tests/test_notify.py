"""reconciler.notify: the handshake, item-by-item reading of change and lifecycle items."""

from __future__ import annotations

import json

import pytest

from reconciler import notify
from reconciler.notify import NotificationError
from reconciler.settings import SettingsError

SECRET = "s3cret-client-state"
SUB = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
ALICE = "5f3c1b7e-0000-4000-8000-000000000001"
BOB = "5f3c1b7e-0000-4000-8000-000000000002"


def change(user_id: str = ALICE, *, client_state: object = SECRET, **overrides: object) -> dict:
    """One user change notification in the shape graph-facts.md §3 shows."""
    item: dict[str, object] = {
        "changeType": "updated",
        "clientState": client_state,
        "resource": f"Users/{user_id}",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.User",
            "@odata.id": f"Users/{user_id}",
            "id": user_id,
            "organizationId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        },
        "subscriptionExpirationDateTime": "2025-02-20T10:00:00+00:00",
        "subscriptionId": SUB,
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
    }
    item.update(overrides)
    return item


def body(*items: object) -> bytes:
    return json.dumps({"value": list(items)}).encode()


def read(payload: bytes | str) -> notify.WebhookBatch:
    return notify.read_notifications(payload, client_state=SECRET)


# --- handshake ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "Validation: Testing client application reachability for subscription Request-Id: 1 2",
        "<script>alert('x')</script>&amp;",
        "a",
        "x" * 1024,
        "ünïcödé token ✓",
    ],
)
def test_handshake_echoes_tokens_of_1_to_1024_characters_exactly(token: str) -> None:
    answer = notify.handshake(token)
    assert (answer.status, answer.body, answer.mimetype) == (200, token, "text/plain")


@pytest.mark.parametrize("token", ["", "x" * 1025, "y" * 100_000])
def test_handshake_rejects_empty_and_overlong_tokens_with_the_reason(token: str) -> None:
    answer = notify.handshake(token)
    assert answer.status == 400
    assert "1 to 1,024 characters" in answer.body
    assert f"{len(token):,}" in answer.body
    assert len(answer.body) < 120  # the reason never reflects the token back


# --- change notifications -------------------------------------------------------------------------


def test_reads_user_ids_from_resource_data_and_counts_accepted_items() -> None:
    batch = read(body(change(ALICE), change(BOB)))
    assert batch.user_ids == (ALICE, BOB)
    assert (batch.accepted, batch.rejected, batch.ignored) == (2, 0, 0)
    assert batch.subscription_ids == (SUB,)


def test_duplicate_and_differently_cased_ids_are_enqueued_once_in_first_seen_order() -> None:
    batch = read(body(change(BOB), change(ALICE), change(BOB.upper()), change(ALICE)))
    assert batch.user_ids == (BOB, ALICE)
    assert batch.accepted == 4


def test_forged_client_state_is_dropped_and_counted() -> None:
    forged = [change(BOB, client_state="guess"), change(BOB, client_state=None)]
    forged.append(change(BOB, client_state=SECRET + "x"))
    forged.append(change(BOB, client_state="s3cret-client-statë"))  # non-ASCII: no TypeError
    batch = read(body(change(ALICE), *forged))
    assert batch.user_ids == (ALICE,)
    assert (batch.accepted, batch.dropped) == (1, {"clientState": 4})


def test_all_items_forged_yields_no_user_ids() -> None:
    batch = read(body(change(ALICE, client_state="nope")))
    assert batch.user_ids == ()
    assert (batch.accepted, batch.dropped) == (0, {"clientState": 1})


def test_client_state_comparison_uses_hmac_compare_digest(monkeypatch) -> None:
    calls = []

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((type(a), type(b)))
        return a == b

    monkeypatch.setattr(notify.hmac, "compare_digest", spy)
    assert notify.client_state_matches(SECRET, SECRET)
    assert not notify.client_state_matches("other", SECRET)
    assert calls == [(bytes, bytes), (bytes, bytes)]


def test_empty_client_state_setting_fails_closed() -> None:
    with pytest.raises(SettingsError, match="CLIENT_STATE"):
        notify.read_notifications(body(change(client_state="")), client_state="")


def test_user_id_falls_back_to_resource_when_resource_data_has_no_id() -> None:
    no_data = change(ALICE)
    del no_data["resourceData"]
    no_id = change(BOB)
    del no_id["resourceData"]["id"]
    lower = change(ALICE, resource=f"/users/{ALICE}")
    del lower["resourceData"]
    batch = read(body(no_data, no_id, lower))
    assert batch.user_ids == (ALICE, BOB)


def test_notifications_about_other_resources_are_accepted_but_not_enqueued() -> None:
    group = change(ALICE)
    group["resourceData"]["@odata.type"] = "#Microsoft.Graph.Group"
    batch = read(body(group, change(BOB)))
    assert batch.user_ids == (BOB,)
    assert (batch.accepted, batch.ignored) == (2, 1)


def test_unknown_subscription_ids_are_accepted_and_listed() -> None:
    other_sub = "00000000-0000-4000-8000-00000000dead"
    batch = read(body(change(ALICE), change(BOB, subscriptionId=other_sub)))
    assert batch.user_ids == (ALICE, BOB)  # stateless: clientState alone authenticates
    assert batch.subscription_ids == (SUB, other_sub)


def test_empty_value_array_is_a_valid_empty_batch() -> None:
    batch = read(b'{"value": []}')
    assert (batch.user_ids, batch.accepted, batch.rejected) == ((), 0, 0)


def test_extra_fields_in_the_body_and_items_are_tolerated() -> None:
    payload = {"value": [change(ALICE, sequenceNumber=1, encryptedContent=None)], "x": 1}
    assert read(json.dumps(payload)).user_ids == (ALICE,)


def _drop(field: str) -> dict:
    item = change(ALICE)
    del item[field]
    return item


@pytest.mark.parametrize(
    ("payload", "where", "words"),
    [
        (b"not json", "body", "not JSON"),
        (b"\xff\xfe{}", "body", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "body", "JSON"),
        (b"1" * 5000, "body", "JSON"),
        (b"[]", "body", "JSON object, not an array"),
        (b"{}", "body", '"value"'),
        (b'{"value": {}}', "value", "array, not an object"),
        (b'{"value": null}', "value", "array, not null"),
    ],
)
def test_a_body_that_is_no_notification_collection_raises_an_error_naming_where(
    payload: bytes, where: str, words: str
) -> None:
    with pytest.raises(NotificationError) as caught:
        read(payload)
    assert caught.value.where == where
    assert words in caught.value.message
    assert str(caught.value).startswith(f"{where}: ")


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("x", "type"),
        (7, "type"),
        (_drop("clientState"), "clientState"),
        (change(client_state=5), "clientState"),
        (_drop("subscriptionId"), "type"),
        (change(subscriptionId=""), "type"),
        (_drop("changeType"), "type"),
        (change(changeType=["updated"]), "type"),
        (_drop("resource"), "type"),
        (change(resourceData="Users/x"), "type"),
        (change(resourceData={"id": 42}), "type"),
        (change(resourceData={"@odata.type": 1, "id": ALICE}), "type"),
        (change(resourceData={"id": "bob"}), "resource"),
        (change(resourceData={}, resource="Groups/" + ALICE), "resource"),
        (change(resourceData={}, resource="Users/nope"), "resource"),
        ({"lifecycleEvent": 3, "subscriptionId": SUB, "clientState": SECRET}, "type"),
        ({"lifecycleEvent": "missed", "clientState": SECRET}, "type"),
        ({"lifecycleEvent": "missed", "clientState": SECRET, "subscriptionId": "a b"}, "type"),
        ({"lifecycleEvent": "missed", "clientState": SECRET, "subscriptionId": "x" * 300}, "type"),
    ],
)
def test_each_bad_item_is_dropped_under_its_reason_and_the_good_ones_kept(
    item: object, reason: str
) -> None:
    batch = read(body(change(ALICE), item, change(BOB)))
    assert batch.user_ids == (ALICE, BOB)
    assert batch.accepted == 2
    assert batch.dropped == {reason: 1}


def test_several_bad_items_are_counted_one_by_one() -> None:
    items = [change(ALICE), "x", change(BOB, client_state="guess"), _drop("clientState")]
    items += [change(resourceData={"id": "bob"}), change(resourceData={"id": "eve"})]
    batch = read(body(*items))
    assert batch.user_ids == (ALICE,)
    assert batch.dropped == {"clientState": 2, "type": 1, "resource": 2}
    assert batch.rejected == 5


def test_an_unauthenticated_item_is_judged_on_its_client_state_alone() -> None:
    forged = change(BOB, client_state="guess", resourceData={"id": "not-a-guid"})
    assert read(body(forged)).dropped == {"clientState": 1}


def test_change_and_lifecycle_items_share_one_post() -> None:
    batch = read(body(change(ALICE), lifecycle_item("missed"), change(BOB)))
    assert batch.user_ids == (ALICE, BOB)
    assert [n.event for n in batch.notices] == ["missed"]
    assert batch.actions == (("catch-up", SUB),)
    assert batch.accepted == 3


# --- lifecycle notifications ---------------------------------------------------------------------


def lifecycle_item(event: str, *, client_state: object = SECRET, sub: str = SUB) -> dict:
    """The shape real deliveries have (graph-facts.md §4): organizationId, empty resource."""
    return {
        "lifecycleEvent": event,
        "subscriptionId": sub,
        "resource": "",
        "clientState": client_state,
        "sequence": None,
        "resourceData": {"@odata.type": "#microsoft.graph.subscription", "id": sub},
        "encryptedContent": None,
        "organizationId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "subscriptionExpirationDateTime": "2023-09-05T01:03:01.889254-07:00",
    }


def read_lifecycle(*items: dict, extra: dict | None = None) -> notify.WebhookBatch:
    payload = {"value": list(items), **(extra or {})}
    return notify.read_notifications(json.dumps(payload), client_state=SECRET)


def test_reauthorization_required_asks_for_a_subscription_renewal() -> None:
    batch = read_lifecycle(
        lifecycle_item("reauthorizationRequired"), extra={"validationTokens": ["jwt"]}
    )
    (notice,) = batch.notices
    assert (notice.event, notice.action, notice.subscription_id) == (
        "reauthorizationRequired",
        "renew-subscription",
        SUB,
    )
    assert batch.actions == (("renew-subscription", SUB),)


def test_repeated_reauthorization_requests_give_one_action_per_subscription() -> None:
    other = "11111111-2222-4333-8444-555555555555"
    batch = read_lifecycle(
        lifecycle_item("reauthorizationRequired"),
        lifecycle_item("reauthorizationRequired"),
        lifecycle_item("reauthorizationRequired", sub=other),
    )
    assert len(batch.notices) == 3
    assert batch.actions == (("renew-subscription", SUB), ("renew-subscription", other))


@pytest.mark.parametrize(
    ("event", "action", "words"),
    [
        ("subscriptionRemoved", "recreate-subscription", "creates a new one"),
        ("missed", "catch-up", "delta query"),
        ("somethingNew", None, "Unknown lifecycle event"),
    ],
)
def test_other_lifecycle_events_ask_for_their_action_and_explain_what_happens(
    event: str, action: str | None, words: str
) -> None:
    (notice,) = read_lifecycle(lifecycle_item(event)).notices
    assert notice.action == action
    assert words in notice.note


def test_lifecycle_items_with_a_forged_client_state_are_dropped_and_counted() -> None:
    batch = read_lifecycle(
        lifecycle_item("reauthorizationRequired", client_state="forged"),
        lifecycle_item("missed", client_state=None),
    )
    assert batch.notices == ()
    assert batch.actions == ()
    assert batch.dropped == {"clientState": 2}

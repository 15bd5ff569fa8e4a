"""Subscription upkeep decisions: which subscription is ours, and keep / renew / create / delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reconciler.plan.upkeep import (
    MAX_LIFETIME,
    RENEW_WITHIN,
    SAFETY_MARGIN,
    SubscriptionTarget,
    creation_body,
    expiration_for,
    graph_time,
    parse_graph_time,
    plan_upkeep,
)
from reconciler.settings import Settings, SettingsError

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOTIFY = "https://app.example.net/api/notifications?code=key"
LIFECYCLE = "https://app.example.net/api/lifecycle?code=key"
TARGET = SubscriptionTarget(NOTIFY, "s3cret", LIFECYCLE)


def listed(sub_id: str, left: timedelta, **changes: Any) -> dict[str, Any]:
    body = {
        "id": sub_id,
        "resource": "users",
        "changeType": "updated,deleted",
        "notificationUrl": NOTIFY,
        "lifecycleNotificationUrl": LIFECYCLE,
        "clientState": "s3cret",
        "expirationDateTime": graph_time(NOW + left),
    }
    body.update(changes)
    return body


def steps(subscriptions: list[dict[str, Any]], target: SubscriptionTarget = TARGET) -> list:
    return [(a.kind, a.subscription_id) for a in plan_upkeep(subscriptions, target, NOW).actions]


# -- settings ----------------------------------------------------------------------------------


def test_target_reads_the_urls_and_client_state_from_settings() -> None:
    settings = Settings.from_env(
        {"NOTIFICATION_URL": NOTIFY, "LIFECYCLE_NOTIFICATION_URL": LIFECYCLE, "CLIENT_STATE": "x"}
    )
    assert SubscriptionTarget.from_settings(settings) == SubscriptionTarget(NOTIFY, "x", LIFECYCLE)


def test_target_without_lifecycle_url_has_none() -> None:
    settings = Settings.from_env({"NOTIFICATION_URL": NOTIFY, "CLIENT_STATE": "x"})
    assert SubscriptionTarget.from_settings(settings).lifecycle_notification_url is None


@pytest.mark.parametrize(
    ("environ", "named"),
    [({"CLIENT_STATE": "x"}, "NOTIFICATION_URL"), ({"NOTIFICATION_URL": NOTIFY}, "CLIENT_STATE")],
)
def test_a_missing_setting_is_an_error_naming_it(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        SubscriptionTarget.from_settings(Settings.from_env(environ))


def test_client_state_longer_than_128_characters_is_an_error_naming_it() -> None:
    settings = Settings.from_env({"NOTIFICATION_URL": NOTIFY, "CLIENT_STATE": "a" * 129})
    with pytest.raises(SettingsError, match=r"CLIENT_STATE is 129 characters.*at most 128"):
        SubscriptionTarget.from_settings(settings)


def test_client_state_of_exactly_128_characters_is_accepted() -> None:
    settings = Settings.from_env({"NOTIFICATION_URL": NOTIFY, "CLIENT_STATE": "a" * 128})
    assert len(SubscriptionTarget.from_settings(settings).client_state) == 128


# -- the body and the expiry -------------------------------------------------------------------


def test_expiration_is_the_maximum_less_the_margin_and_never_beyond_graphs_cap() -> None:
    expiration = expiration_for(NOW)
    assert expiration == NOW + timedelta(minutes=41_760) - SAFETY_MARGIN
    assert NOW + MAX_LIFETIME - expiration >= timedelta(minutes=5)
    assert expiration - NOW > RENEW_WITHIN * 3  # renewed rarely, well before it lapses


def test_creation_body_subscribes_to_updated_and_deleted_on_users() -> None:
    body = creation_body(TARGET, expiration_for(NOW))
    assert body == {
        "changeType": "updated,deleted",
        "notificationUrl": NOTIFY,
        "lifecycleNotificationUrl": LIFECYCLE,
        "resource": "users",
        "expirationDateTime": "2026-03-30T11:45:00Z",
        "clientState": "s3cret",
        "latestSupportedTlsVersion": "v1_2",
    }


def test_creation_body_leaves_out_an_unset_lifecycle_url() -> None:
    body = creation_body(SubscriptionTarget(NOTIFY, "s3cret"), expiration_for(NOW))
    assert "lifecycleNotificationUrl" not in body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T12:00:00Z", NOW),
        ("2026-03-01T12:00:00.1234567Z", NOW + timedelta(microseconds=123456)),
        ("2026-03-01T05:00:00-07:00", NOW),
        ("2026-03-01T12:00:00", NOW),
        ("not a date", None),
        (None, None),
    ],
)
def test_graph_times_parse_with_seven_digits_offsets_or_not_at_all(
    text: str | None, expected: datetime | None
) -> None:
    assert parse_graph_time(text) == expected


# -- the plan ----------------------------------------------------------------------------------


def test_no_subscription_means_create() -> None:
    assert steps([]) == [("create", None)]


def test_a_healthy_subscription_is_kept_and_nothing_else_happens() -> None:
    assert steps([listed("a", timedelta(days=20))]) == [("keep", "a")]


def test_less_than_seven_days_left_means_renew() -> None:
    assert steps([listed("a", RENEW_WITHIN - timedelta(seconds=1))]) == [("renew", "a")]


def test_exactly_seven_days_left_is_still_kept() -> None:
    assert steps([listed("a", RENEW_WITHIN)]) == [("keep", "a")]


def test_duplicates_keep_the_newest_and_delete_the_others_after_it() -> None:
    subs = [
        listed("old", timedelta(days=10)),
        listed("new", timedelta(days=25)),
        listed("mid", timedelta(days=15)),
    ]
    assert steps(subs) == [("keep", "new"), ("delete", "mid"), ("delete", "old")]


def test_duplicates_all_close_to_expiry_renew_the_newest_only() -> None:
    subs = [listed("a", timedelta(days=2)), listed("b", timedelta(days=3))]
    assert steps(subs) == [("renew", "b"), ("delete", "a")]


def test_an_expired_subscription_is_replaced_created_first_then_deleted() -> None:
    plan = plan_upkeep([listed("gone", timedelta(seconds=-1))], TARGET, NOW)
    assert [(a.kind, a.subscription_id) for a in plan.actions] == [
        ("create", None),
        ("delete", "gone"),
    ]
    assert plan.of_kind("delete")[0].reason == "expired"


def test_an_expired_one_beside_a_live_one_is_only_deleted() -> None:
    subs = [listed("gone", timedelta(hours=-1)), listed("live", timedelta(days=20))]
    assert steps(subs) == [("keep", "live"), ("delete", "gone")]


def test_an_unreadable_expiry_counts_as_expired() -> None:
    assert steps([listed("a", timedelta(days=20), expirationDateTime="soon")]) == [
        ("create", None),
        ("delete", "a"),
    ]


def test_a_different_lifecycle_url_is_replaced_because_patch_cannot_change_it() -> None:
    sub = listed("a", timedelta(days=20), lifecycleNotificationUrl=None)
    plan = plan_upkeep([sub], TARGET, NOW)
    assert [(a.kind, a.subscription_id) for a in plan.actions] == [
        ("create", None),
        ("delete", "a"),
    ]
    assert "LIFECYCLE_NOTIFICATION_URL" in plan.actions[1].reason


def test_a_rotated_client_state_is_replaced() -> None:
    sub = listed("a", timedelta(days=20), clientState="old-secret")
    assert steps([sub]) == [("create", None), ("delete", "a")]


def test_a_client_state_graph_does_not_return_is_not_judged() -> None:
    assert steps([listed("a", timedelta(days=20), clientState=None)]) == [("keep", "a")]


@pytest.mark.parametrize(
    "changes",
    [
        {"notificationUrl": "https://other.example.net/hook"},
        {"resource": "users/5f3c1b7e-0000-4000-8000-000000000001"},
        {"resource": "groups"},
        {"changeType": "updated"},
    ],
)
def test_someone_elses_subscription_is_never_touched(changes: dict[str, str]) -> None:
    assert steps([listed("theirs", timedelta(days=1), **changes)]) == [("create", None)]


def test_a_leading_slash_and_another_change_type_order_are_still_ours() -> None:
    sub = listed("a", timedelta(days=20), resource="/Users", changeType="deleted, updated")
    assert steps([sub]) == [("keep", "a")]

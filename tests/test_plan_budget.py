"""The pure removal budget: allowance, floor, rolling window, tenant-wide cap, member counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.plan.budget import (
    TENANT,
    BudgetLimits,
    BudgetWindow,
    grant,
    needs_member_count,
)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
LIMITS = BudgetLimits(max_removal_percent=20, removal_floor=10, window_minutes=60, tenant_max=500)


def spend_in_chunks(chunks: list[int], members: int, limits: BudgetLimits = LIMITS) -> list[int]:
    windows: dict[str, BudgetWindow] = {}
    granted = []
    for n, chunk in enumerate(chunks):
        result = grant(
            {"g": chunk}, windows, limits, NOW + timedelta(minutes=n), members_now={"g": members}
        )
        windows.update(result.windows)
        granted.append(result.granted["g"])
        members -= result.granted["g"]
    return granted


def test_chunks_of_fifty_from_420_members_get_84_in_all() -> None:
    assert spend_in_chunks([50, 50, 50, 50, 50, 2], 420) == [50, 34, 0, 0, 0, 0]


def test_the_count_at_the_window_start_is_kept_while_members_drop() -> None:
    first = grant({"g": 50}, {}, LIMITS, NOW, members_now={"g": 420})
    assert first.windows["g"].members_at_start == 420
    # a later spend knows no count: the stored one still gives 84, not 20 % of 370
    second = grant({"g": 50}, first.windows, LIMITS, NOW + timedelta(minutes=5))
    assert second.granted == {"g": 34}


def test_a_count_read_late_adds_back_what_the_window_already_spent() -> None:
    assert needs_member_count(BudgetWindow(), 1)
    small = grant({"g": 8}, {}, LIMITS, NOW)  # the count could not be read: the floor only
    assert small.granted == {"g": 8} and small.windows["g"].members_at_start is None
    window = small.windows["g"]
    assert needs_member_count(window, 50)
    later = grant({"g": 100}, small.windows, LIMITS, NOW, members_now={"g": 412})
    assert later.windows["g"].members_at_start == 420 and later.granted == {"g": 76}
    assert not needs_member_count(later.windows["g"], 50)


def test_the_floor_always_passes_in_a_small_group() -> None:
    assert spend_in_chunks([4, 4, 4], 12) == [4, 4, 2]


def test_the_window_rolls_and_a_new_one_starts_on_fresh_numbers() -> None:
    first = grant({"g": 200}, {}, LIMITS, NOW, members_now={"g": 420})
    assert first.granted == {"g": 84}
    inside = grant({"g": 10}, first.windows, LIMITS, NOW + timedelta(minutes=59))
    assert inside.granted == {"g": 0}
    after = grant(
        {"g": 200}, first.windows, LIMITS, NOW + timedelta(minutes=60), members_now={"g": 336}
    )
    assert after.granted == {"g": 67}


def test_a_groups_own_percent_wins_over_the_setting() -> None:
    result = grant({"g": 200}, {}, LIMITS, NOW, members_now={"g": 400}, percents={"g": 5})
    assert result.granted == {"g": 20}


def test_the_tenant_window_caps_all_groups_together() -> None:
    limits = BudgetLimits(max_removal_percent=50, removal_floor=10, tenant_max=100)
    members = {"a": 1000, "b": 1000}
    first = grant({"a": 80, "b": 80}, {}, limits, NOW, members_now=members)
    assert first.granted == {"a": 80, "b": 20}
    assert first.windows[TENANT].used == 100
    second = grant({"a": 5}, first.windows, limits, NOW, members_now=members)
    assert second.granted == {"a": 0} and second.windows == {}


def test_no_tenant_limit_when_the_setting_is_zero() -> None:
    limits = BudgetLimits(max_removal_percent=100, removal_floor=0, tenant_max=0)
    result = grant({"a": 5000}, {}, limits, NOW, members_now={"a": 5000})
    assert result.granted == {"a": 5000}


def test_an_unknown_count_grants_only_the_floor() -> None:
    assert grant({"g": 50}, {}, LIMITS, NOW).granted == {"g": 10}


def test_a_group_at_100_percent_has_no_limit_of_its_own_but_the_tenant_one() -> None:
    windows: dict[str, BudgetWindow] = {}
    for _ in range(3):  # churn: more removals than members, over one window
        result = grant({"g": 30}, windows, LIMITS, NOW, members_now={"g": 40}, percents={"g": 100})
        assert result.granted == {"g": 30}
        windows.update(result.windows)
    capped = BudgetLimits(tenant_max=50)
    result = grant({"g": 80}, {}, capped, NOW, members_now={"g": 40}, percents={"g": 100})
    assert result.granted == {"g": 50}

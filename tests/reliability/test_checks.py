"""The scenario's checks catch what they are meant to catch (a check that never fails proves
nothing): a wrong or lost member, a removal on partial data, a write to a paused group."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.scenario import (
    ALL_USERS,
    CEO,
    ENGINEERING,
    GUESTS,
    SALES,
    check,
    off_for_edited_users,
    rules_text,
)

ANA = "30000000-0000-4000-8000-000000000001"  # Sales, enabled
BOB = "30000000-0000-4000-8000-000000000002"  # Engineering, excluded
CAL = "30000000-0000-4000-8000-000000000003"  # Guest
ALL_GROUPS = (SALES, ENGINEERING, GUESTS, "10000000-0000-4000-8000-000000000009")


def user(uid: str, **attrs: object) -> dict:
    return {"id": uid, "accountEnabled": True, "userType": "Member", **attrs}


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(rules_text(BOB))
    return path


def tenant(members: dict[str, list[str]]) -> dict:
    return {
        "users": [
            user(CEO, department="Executive"),
            user(ANA, department="Sales"),
            user(BOB, department="Engineering"),
            user(CAL, userType="Guest"),
        ],
        "managers": {ANA: CEO},
        "members": {g: members.get(g, []) for g in ALL_GROUPS},
    }


CORRECT = {SALES: [ANA, CEO], GUESTS: [CAL], "10000000-0000-4000-8000-000000000009": [ANA, CEO]}


def removal(uid: str, group: str, seq: int = 5, **attrs: object) -> dict:
    return {
        "seq": seq,
        "action": "remove",
        "applied": True,
        "groupId": group,
        "memberId": uid,
        "user": {**user(uid, **attrs), "managerId": None},
    }


def no_history() -> SimpleNamespace:
    return SimpleNamespace(history={})


def test_the_correct_state_passes(rules: Path) -> None:
    figures = check(rules, tenant(CORRECT), [], no_history())
    assert figures.problems == [] and figures.ok


def test_a_wrong_and_a_lost_member_are_counted(rules: Path) -> None:
    members = {**CORRECT, SALES: [CEO, CAL], ENGINEERING: [BOB]}  # ANA lost, CAL and BOB wrong
    figures = check(rules, tenant(members), [], no_history())
    assert (figures.wrong, figures.lost) == (2, 1)


def test_a_removal_of_a_matching_user_is_partial_data(rules: Path) -> None:
    writes = [removal(ANA, SALES, department="Sales")]
    figures = check(rules, tenant(CORRECT), writes, no_history())
    assert figures.partial_removals == 1 and not figures.ok


def test_a_removal_backed_by_an_earlier_real_state_is_stale_not_partial(rules: Path) -> None:
    writes = [removal(ANA, SALES, seq=5, department="Sales")]
    history = SimpleNamespace(
        history={ANA: [(0, user(ANA, department="Sales")), (3, user(ANA, department="HR"))]}
    )
    figures = check(rules, tenant(CORRECT), writes, history)
    assert (figures.partial_removals, figures.stale_removals) == (0, 1)
    later = SimpleNamespace(history={ANA: [(0, user(ANA, department="Sales")), (7, None)]})
    assert check(rules, tenant(CORRECT), writes, later).partial_removals == 1


def test_removing_an_included_user_or_writing_an_unmanaged_group_is_caught(rules: Path) -> None:
    unmanaged = "10000000-0000-4000-8000-000000000004"
    writes = [
        removal(CEO, SALES, department="Executive"),
        removal(CAL, ALL_USERS),
        removal(CAL, unmanaged),
    ]
    figures = check(rules, tenant(CORRECT), writes, no_history())
    assert (figures.partial_removals, figures.paused_writes) == (1, 2)


def test_removals_the_attributes_justified_pass(rules: Path) -> None:
    writes = [removal(ANA, SALES, department="HR"), removal(BOB, ENGINEERING)]
    figures = check(rules, tenant(CORRECT), writes, no_history())
    assert figures.ok and figures.removals_checked == 2 and figures.problems == []


def test_off_before_the_sweep_counts_notified_users_only(rules: Path) -> None:
    """The lossless scenarios' check: an edited (so notified) user left off is counted; a user
    changed silently (the report of a deleted manager) or never edited is the sweep's job."""
    members = {**CORRECT, SALES: [CEO], GUESTS: []}  # ANA and CAL both off
    state = tenant(members)
    assert off_for_edited_users(rules, state, SimpleNamespace(notified={ANA})) == 1
    assert off_for_edited_users(rules, state, SimpleNamespace(notified={ANA, CAL})) == 2
    assert off_for_edited_users(rules, state, SimpleNamespace(notified=set())) == 0

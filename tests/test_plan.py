"""The pure planner: decisions with reasons, include/exclude, undecided users, the guard."""

from __future__ import annotations

from dataclasses import replace

from reconciler.directory import Member
from reconciler.plan import (
    GuardLimits,
    Planner,
    decide,
    invert_members,
    judge,
    member_of_sources,
)
from reconciler.policy import ManagedGroup, loads_policy
from reconciler.rules import RuleSet, parse

SALES = "10000000-0000-4000-8000-000000000001"
ENG = "10000000-0000-4000-8000-000000000002"
ANA = "20000000-0000-4000-8000-000000000001"
BEN = "20000000-0000-4000-8000-000000000002"
CAI = "20000000-0000-4000-8000-000000000003"
DEVICE = "30000000-0000-4000-8000-000000000001"


def groups(extra: str = "") -> list[ManagedGroup]:
    policy = loads_policy(
        f"""
[[groups]]
id = "{SALES}"
name = "Sales"
rule = '(user.department -eq "Sales") -and (user.accountEnabled -eq true)'
{extra}

[[groups]]
id = "{ENG}"
name = "Engineering"
rule = 'user.department -eq "Engineering"'
"""
    )
    assert policy.ok, policy.problems
    return list(policy.usable_groups)


def user(user_id: str, department: str | None, enabled: bool = True) -> dict:
    return {"id": user_id, "department": department, "accountEnabled": enabled}


def plan(managed, users, current=None, limits=None, **finish):
    """Plan the groups over the users, with current members (group -> Members)."""
    ruleset = RuleSet({g.id: g.rule for g in managed})
    memberships, non_users, counts = invert_members(current or {})
    planner = Planner(managed, ruleset, memberships, listing_complete=True)
    for u in users:
        planner.see(u)
    finish.setdefault("member_counts", counts)
    finish.setdefault("non_user_members", non_users)
    return {p.group_id: p for p in planner.finish(limits or GuardLimits(), **finish)}


def test_an_add_names_the_clauses_that_matched_with_the_users_values() -> None:
    plans = plan(groups(), [user(ANA, "Sales")])

    (add,) = plans[SALES].adds
    assert (add.group_id, add.user_id, add.action) == (SALES, ANA, "add")
    assert add.reason == (
        'rule matches: department = "Sales" (-eq "Sales"), accountEnabled = true (-eq true)'
    )
    assert plans[ENG].adds == () and plans[ENG].removes == ()


def test_a_removal_names_only_the_failing_clauses() -> None:
    plans = plan(groups(), [user(ANA, "Sales", enabled=False)], {SALES: [Member(ANA)]})

    (remove,) = plans[SALES].removes
    assert remove.action == "remove"
    assert remove.reason == "rule does not match: accountEnabled = false (-eq true)"


def test_members_that_already_match_give_no_change() -> None:
    plans = plan(
        groups(),
        [user(ANA, "Sales"), user(BEN, "Engineering")],
        {SALES: [Member(ANA)], ENG: [Member(BEN)]},
    )

    assert all(p.changes == () for p in plans.values())


def test_include_adds_without_a_match_and_exclude_removes_despite_one() -> None:
    managed = groups(f'include = ["{BEN}"]\nexclude = ["{ANA}"]')
    plans = plan(managed, [user(ANA, "Sales"), user(BEN, "Engineering")], {SALES: [Member(ANA)]})

    assert [(c.user_id, c.reason) for c in plans[SALES].adds] == [(BEN, "in include list")]
    assert [(c.user_id, c.reason) for c in plans[SALES].removes] == [(ANA, "in exclude list")]


def test_exclude_wins_over_include_for_the_same_user() -> None:
    (group, _) = groups()
    both = replace(group, include=frozenset({ANA}), exclude=frozenset({ANA}))

    decision = decide(both, ANA, matched=True)

    assert (decision.member, decision.basis) == (False, "exclude")


def test_non_user_members_are_left_alone_and_reported() -> None:
    current = {SALES: [Member(ANA), Member(DEVICE, "#microsoft.graph.device")]}
    plans = plan(groups(), [user(ANA, "Sales")], current)

    assert plans[SALES].changes == ()
    assert plans[SALES].non_user_members == (DEVICE,)
    assert plans[SALES].members == 2


def test_a_member_missing_from_the_listing_is_left_alone_and_reported() -> None:
    plans = plan(groups(), [user(ANA, "Sales")], {SALES: [Member(ANA), Member(CAI)]})

    assert plans[SALES].removes == ()
    assert plans[SALES].unlisted_members == (CAI,)


def test_an_undecided_rule_changes_nothing_and_is_reported() -> None:
    (group, eng) = groups()
    slow = replace(group, rule=parse('user.displayName -match "(a+)+$"', regex_timeout=0.01))
    victim = {"id": ANA, "displayName": "a" * 5000 + "!"}

    plans = plan([slow, eng], [victim], {SALES: [Member(ANA)]})

    assert plans[SALES].changes == ()
    (undecided,) = plans[SALES].undecided
    assert undecided.user_id == ANA
    assert "RegexTimeout" in undecided.reason
    assert plans[SALES].error_texts[0].startswith(f"user {ANA}: rule could not be decided")


def test_a_mistyped_attribute_leaves_the_member_alone_and_is_reported() -> None:
    mistyped = {"id": ANA, "department": ["Sales"], "accountEnabled": True}
    not_member = {"id": BEN, "department": "Sales", "accountEnabled": "yes"}

    plans = plan(groups(), [mistyped, not_member], {SALES: [Member(ANA)], ENG: [Member(ANA)]})

    assert plans[SALES].changes == () and plans[ENG].changes == ()
    assert [u.user_id for u in plans[SALES].undecided] == [ANA, BEN]
    assert [u.user_id for u in plans[ENG].undecided] == [ANA]  # Ben is decided: not "Engineering"
    ana = plans[SALES].undecided[0].reason
    assert ana == (
        "rule could not be decided (AttributeTypeMismatch: user.department is an array (['Sales'])"
        " but the rule compares it as a string; fix the attribute's value in the directory);"
        " membership left as it is"
    )
    assert "user.accountEnabled is a string ('yes')" in plans[SALES].undecided[1].reason


def test_the_guard_holds_a_group_losing_more_than_its_share_above_the_floor() -> None:
    staff = [f"20000000-0000-4000-8000-{n:012d}" for n in range(40)]
    current = {SALES: [Member(s) for s in staff]}
    users = [user(s, None if n < 20 else "Sales") for n, s in enumerate(staff)]
    users.append(user(ANA, "Sales"))

    plans = plan(groups(), users, current, GuardLimits(20, 10))

    guard = plans[SALES].guard
    assert guard.held and not guard.released
    assert (guard.removals, guard.members) == (20, 40)
    assert "20 removals of 40 members (50%)" in guard.reasons[0]
    assert not plans[SALES].writable  # adds (Ana) are held too
    assert len(plans[SALES].adds) == 1
    assert not plans[ENG].held


def test_allow_mass_removal_releases_the_hold() -> None:
    verdict = judge(GuardLimits(20, 10, allow_mass_removal=True), removals=20, members=40)

    assert verdict.released and not verdict.held


def test_the_floor_lets_small_groups_lose_a_large_share() -> None:
    assert not judge(GuardLimits(20, 10), removals=10, members=12).held
    assert judge(GuardLimits(20, 10), removals=11, members=12).held


def test_removals_within_the_share_are_not_held() -> None:
    assert not judge(GuardLimits(20, 10), removals=20, members=100).held
    assert judge(GuardLimits(20, 10), removals=21, members=100).held


def test_a_groups_own_percent_overrides_the_setting() -> None:
    verdict = judge(GuardLimits(20, 10), removals=30, members=100, group_percent=50)

    assert not verdict.held and verdict.max_removal_percent == 50


def test_too_few_users_listed_holds_every_group() -> None:
    plans = plan(
        groups(), [user(ANA, "Sales")], limits=GuardLimits(min_expected_users=5), users_listed=1
    )

    assert all(p.held for p in plans.values())
    assert "fewer than MIN_EXPECTED_USERS=5" in plans[ENG].guard.reasons[0]


def test_paused_groups_are_planned_but_not_writable_and_not_held() -> None:
    plans = plan(groups("paused = true"), [user(ANA, "Sales")])

    assert plans[SALES].paused and not plans[SALES].held
    assert len(plans[SALES].adds) == 1 and not plans[SALES].writable


def test_member_of_rules_read_memberships_from_the_source_groups() -> None:
    source = "10000000-0000-4000-8000-0000000000aa"
    rule = parse(f"user.memberOf -any (group.objectId -in ['{source.upper()}'])")
    (group, _) = groups()
    via = replace(group, rule=rule)
    assert member_of_sources([rule]) == {source}
    ruleset = RuleSet({via.id: rule})
    planner = Planner([via], ruleset, {}, listing_complete=True, member_of={ANA: [source]})

    planner.see({"id": ANA})
    planner.see({"id": BEN})

    (result,) = planner.finish(GuardLimits())
    assert [c.user_id for c in result.adds] == [ANA]


def test_a_clause_under_not_is_named_with_its_polarity() -> None:
    (group, _) = groups()
    rule = parse('user.department -eq "Sales" -and -not (user.accountEnabled -eq false)')
    negated = replace(group, rule=rule)

    plans = plan(
        [negated], [user(ANA, "Sales"), user(BEN, "Sales", enabled=False)], {SALES: [Member(BEN)]}
    )

    assert plans[SALES].adds[0].reason == (
        'rule matches: department = "Sales" (-eq "Sales"), accountEnabled = true (not -eq false)'
    )
    assert plans[SALES].removes[0].reason == (
        "rule does not match: accountEnabled = false (not -eq false)"
    )


def test_long_operands_are_shortened_to_one_line_in_reasons() -> None:
    (group, _) = groups()
    countries = ", ".join(f'"{chr(65 + n // 26)}{chr(65 + n % 26)}"' for n in range(40))
    wide = replace(group, rule=parse(f"user.usageLocation -in [\n{countries}\n]"))

    plans = plan([wide], [{"id": ANA, "usageLocation": "AA"}])

    reason = plans[SALES].adds[0].reason
    assert "\n" not in reason and reason.endswith("…)")
    assert len(reason) < 120

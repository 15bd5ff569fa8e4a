"""The jobs against an in-memory directory: convergence, idempotence, partial reads, the guard,
refusals, undecided users, the incremental path and the audit trail."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest

from reconciler.policy import Policy, loads_policy
from reconciler.rules import parse
from reconciler.service import RunOptions, reconcile_all, reconcile_groups, reconcile_users
from reconciler.settings import Settings
from tests.memory_directory import MemoryDirectory

SALES = "10000000-0000-4000-8000-000000000001"
ENG = "10000000-0000-4000-8000-000000000002"
VIPS = "10000000-0000-4000-8000-000000000003"
SOURCE = "10000000-0000-4000-8000-0000000000ff"
DEVICE = "30000000-0000-4000-8000-000000000001"
SECRET = "s3cr3t-static-token-value"


def uid(n: int) -> str:
    return f"20000000-0000-4000-8000-{n:012d}"


RULES = f"""
[[groups]]
id = "{SALES}"
name = "Sales"
rule = '(user.department -eq "Sales") -and (user.accountEnabled -eq true)'

[[groups]]
id = "{ENG}"
name = "Engineering"
rule = 'user.department -eq "Engineering"'
"""


def policy(text: str = RULES) -> Policy:
    loaded = loads_policy(text)
    assert loaded.ok, loaded.problems
    return loaded


def settings(**changes: object) -> Settings:
    return replace(Settings(graph_static_token=SECRET, removal_floor=3), **changes)


def tenant(sales: int = 4, eng: int = 3, *, page_size: int = 3) -> MemoryDirectory:
    """Users 1..sales in Sales, then eng users in Engineering; both groups empty."""
    users = [{"id": uid(n), "department": "Sales", "accountEnabled": True} for n in range(sales)]
    users += [{"id": uid(100 + n), "department": "Engineering"} for n in range(eng)]
    directory = MemoryDirectory(users, page_size=page_size)
    directory.add_group(SALES, "Sales")
    directory.add_group(ENG, "Engineering")
    return directory


def sales_ids(n: int = 4) -> set[str]:
    return {uid(i) for i in range(n)}


def eng_ids(n: int = 3) -> set[str]:
    return {uid(100 + i) for i in range(n)}


# --- full runs ------------------------------------------------------------------------------


async def test_apply_fills_empty_groups_and_reports_reasons() -> None:
    directory = tenant()

    report = await reconcile_all(directory, policy(), settings())

    assert report.exit_code == 0
    assert directory.member_ids(SALES) == sales_ids()
    assert directory.member_ids(ENG) == eng_ids()
    sales = report.groups[0]
    assert sales.status == "written" and len(sales.written) == 4
    assert sales.plan.adds[0].reason.startswith('rule matches: department = "Sales"')
    assert report.users_listed == 7


async def test_apply_repairs_drift_in_both_directions() -> None:
    directory = tenant()
    for user_id in sales_ids(2):
        directory.put_member(SALES, user_id)
    directory.put_member(SALES, uid(100))  # an engineer added by hand

    report = await reconcile_all(directory, policy(), settings())

    assert directory.member_ids(SALES) == sales_ids()
    sales = report.groups[0].plan
    assert {c.user_id for c in sales.adds} == {uid(2), uid(3)}
    assert [(c.user_id, c.reason) for c in sales.removes] == [
        (
            uid(100),
            'rule does not match: department = "Engineering" (-eq "Sales"), '
            "accountEnabled = null (-eq true)",
        )
    ]


async def test_a_second_apply_makes_no_writes() -> None:
    directory = tenant()
    await reconcile_all(directory, policy(), settings())
    directory.writes.clear()
    directory.calls.clear()

    report = await reconcile_all(directory, policy(), settings())

    assert directory.writes == []
    assert not any(kind in ("add", "remove") for kind, _ in directory.calls)
    assert [g.status for g in report.groups] == ["unchanged", "unchanged"]
    assert report.exit_code == 0


async def test_a_dry_run_plans_without_writing() -> None:
    directory = tenant()

    options = RunOptions.from_settings(settings(), dry_run=True)
    report = await reconcile_all(directory, policy(), settings(), options=options)

    assert directory.writes == []
    assert report.dry_run and report.groups[0].status == "planned"
    assert len(report.groups[0].plan.adds) == 4


async def test_the_dry_run_setting_also_stops_writes() -> None:
    directory = tenant()

    report = await reconcile_all(directory, policy(), settings(dry_run=True))

    assert directory.writes == [] and report.dry_run


async def test_include_and_exclude_lists_are_applied() -> None:
    directory = tenant()
    text = RULES.replace(
        'name = "Sales"', f'name = "Sales"\ninclude = ["{uid(100)}"]\nexclude = ["{uid(0)}"]'
    )

    report = await reconcile_all(directory, policy(text), settings())

    assert directory.member_ids(SALES) == (sales_ids() - {uid(0)}) | {uid(100)}
    reasons = report.to_json()["groups"][0]["reasons"]
    assert reasons[uid(100)] == "in include list"


async def test_a_paused_group_is_planned_not_written_and_not_held() -> None:
    directory = tenant()
    text = RULES.replace('name = "Sales"', 'name = "Sales"\npaused = true')

    report = await reconcile_all(directory, policy(text), settings())

    assert directory.member_ids(SALES) == set()
    assert directory.member_ids(ENG) == eng_ids()
    assert report.groups[0].status == "paused" and not report.groups[0].plan.held
    assert report.exit_code == 0


async def test_members_that_are_not_users_are_left_alone() -> None:
    directory = tenant()
    directory.put_member(SALES, DEVICE, "#microsoft.graph.device")

    report = await reconcile_all(directory, policy(), settings())

    assert DEVICE in directory.member_ids(SALES)
    assert ("remove", SALES, DEVICE) not in directory.writes
    assert report.to_json()["groups"][0]["nonUserMembers"] == [DEVICE]


async def test_a_failed_member_read_blocks_only_that_group() -> None:
    directory = tenant()
    directory.fail_members.add(SALES)

    report = await reconcile_all(directory, policy(), settings())

    assert not any(group == SALES for _, group, _ in directory.writes)
    assert directory.member_ids(ENG) == eng_ids()
    sales, eng = report.groups
    assert sales.status == "failed" and "could not read the group" in sales.errors[0]
    assert eng.status == "written"
    assert report.exit_code == 1


async def test_a_failed_user_listing_stops_every_write() -> None:
    directory = tenant(page_size=2)
    directory.fail_listing_at_page = 3

    report = await reconcile_all(directory, policy(), settings())

    assert directory.writes == []
    assert all("could not read the user listing" in g.errors[0] for g in report.groups)
    assert report.exit_code == 1


async def test_a_refused_group_is_reported_and_the_others_complete() -> None:
    directory = tenant()
    directory.groups[SALES].refusal = "the group is mail-enabled"

    report = await reconcile_all(directory, policy(), settings())

    assert report.groups[0].errors == (
        "Graph will not change this group's members: the group is mail-enabled",
    )
    assert directory.member_ids(SALES) == set()
    assert directory.member_ids(ENG) == eng_ids()
    assert report.exit_code == 1


async def test_a_group_missing_from_the_directory_is_reported() -> None:
    directory = tenant()
    del directory.groups[ENG]

    report = await reconcile_all(directory, policy(), settings())

    assert report.groups[1].errors == ("the group does not exist in the directory",)
    assert directory.member_ids(SALES) == sales_ids()


async def test_blanked_department_for_half_the_group_is_held_with_no_writes() -> None:
    directory = tenant(sales=20)
    for user_id in sales_ids(20):
        directory.put_member(SALES, user_id)
    for n in range(10):  # an HR sync blanked half of them
        directory.users_by_id[uid(n)]["department"] = None
    directory.users_by_id[uid(100)]["department"] = "Sales"  # and one real move in
    directory.users_by_id[uid(100)]["accountEnabled"] = True

    report = await reconcile_all(directory, policy(), settings())

    assert directory.member_ids(SALES) == sales_ids(20)  # nothing removed, nothing added
    assert not any(group == SALES for _, group, _ in directory.writes)
    sales = report.to_json()["groups"][0]
    assert sales["held"] is True and sales["status"] == "held"
    assert sales["guard"]["removals"] == 10 and sales["guard"]["members"] == 20
    assert sales["adds"] == [uid(100)]
    assert report.exit_code == 3


async def test_allow_mass_removal_releases_a_held_group() -> None:
    directory = tenant(sales=20)
    for user_id in sales_ids(20):
        directory.put_member(SALES, user_id)
    for n in range(10):
        directory.users_by_id[uid(n)]["department"] = None

    options = RunOptions.from_settings(settings(), allow_mass_removal=True)
    report = await reconcile_all(directory, policy(), settings(), options=options)

    assert directory.member_ids(SALES) == sales_ids(20) - sales_ids(10)
    assert report.groups[0].plan.guard.released
    assert report.exit_code == 0


async def test_too_few_users_listed_holds_everything() -> None:
    directory = tenant()

    report = await reconcile_all(directory, policy(), settings(min_expected_users=100))

    assert directory.writes == []
    assert all(g.plan.held for g in report.groups)
    assert report.exit_code == 3


async def test_an_undecided_user_keeps_the_membership_and_is_an_error() -> None:
    directory = tenant()
    directory.users_by_id[uid(0)]["displayName"] = "a" * 5000 + "!"
    directory.put_member(SALES, uid(0))
    loaded = policy()
    slow = replace(
        loaded.groups[0],
        rule=parse('user.displayName -match "(a+)+$"', regex_timeout=0.01),
    )
    loaded = replace(loaded, groups=(slow, loaded.groups[1]))

    report = await reconcile_all(directory, loaded, settings())

    assert uid(0) in directory.member_ids(SALES)
    assert ("remove", SALES, uid(0)) not in directory.writes
    (error,) = report.groups[0].errors
    assert error.startswith(f"user {uid(0)}: rule could not be decided (RegexTimeout")
    assert report.exit_code == 1


async def test_a_mistyped_attribute_keeps_the_membership_and_is_an_error() -> None:
    directory = tenant()
    directory.users_by_id[uid(0)]["department"] = 5
    directory.put_member(SALES, uid(0))

    report = await reconcile_all(directory, policy(), settings())

    assert uid(0) in directory.member_ids(SALES)
    assert not [w for w in directory.writes if w[2] == uid(0)]
    assert directory.member_ids(SALES) == sales_ids()  # the other three were added
    (error,) = report.groups[0].errors
    assert error.startswith(f"user {uid(0)}: rule could not be decided (AttributeTypeMismatch")
    assert "user.department is a number (5)" in error
    assert report.exit_code == 1


async def test_a_failed_write_is_recorded_per_user() -> None:
    directory = tenant()
    directory.fail_writes[SALES, uid(1)] = "Authorization_RequestDenied"

    report = await reconcile_all(directory, policy(), settings())

    sales = report.groups[0]
    assert [(f.user_id, f.reason) for f in sales.failures] == [
        (uid(1), "Authorization_RequestDenied")
    ]
    assert directory.member_ids(SALES) == sales_ids() - {uid(1)}
    assert report.to_json()["groups"][0]["failed"] == {uid(1): "Authorization_RequestDenied"}
    assert report.exit_code == 1


async def test_only_the_chosen_groups_are_read_and_written() -> None:
    directory = tenant()

    report = await reconcile_groups(directory, policy(), settings(), [ENG.upper()])

    assert [g.plan.group_id for g in report.groups] == [ENG]
    assert ("members", SALES) not in directory.calls
    assert directory.member_ids(SALES) == set()


async def test_an_unknown_group_id_is_refused() -> None:
    with pytest.raises(ValueError, match="not a group of"):
        options = RunOptions.from_settings(settings(), group_ids=[VIPS])
        await reconcile_all(tenant(), policy(), settings(), options=options)


async def test_member_of_rules_use_the_source_groups_members_not_per_user_calls() -> None:
    directory = tenant()
    directory.add_group(SOURCE, "Source")
    directory.add_group(VIPS, "VIPs")
    directory.put_member(SOURCE, uid(1))
    directory.put_member(SOURCE, uid(101))
    text = RULES + (
        f'\n[[groups]]\nid = "{VIPS}"\n'
        f"rule = \"user.memberOf -any (group.objectId -in ['{SOURCE}'])\"\n"
    )

    await reconcile_all(directory, policy(text), settings())

    assert directory.member_ids(VIPS) == {uid(1), uid(101)}
    assert not any(kind == "memberOf" for kind, _ in directory.calls)


async def test_every_managed_group_appears_in_the_json_even_with_nothing_to_do() -> None:
    directory = tenant(sales=0, eng=0)

    document = (await reconcile_all(directory, policy(), settings())).to_json()

    assert [g["id"] for g in document["groups"]] == [SALES, ENG]
    assert set(document["groups"][0]) >= {
        "id", "name", "paused", "held", "guard", "adds", "removes", "reasons",
        "nonUserMembers", "errors",
    }  # fmt: skip
    assert document["summary"]["exitCode"] == 0
    assert json.loads(json.dumps(document)) == document


async def test_a_group_with_rule_errors_is_reported_not_reconciled() -> None:
    text = RULES + f"\n[[groups]]\nid = \"{VIPS}\"\nrule = 'user.department -eq'\n"
    loaded = loads_policy(text)
    directory = tenant()

    report = await reconcile_all(directory, loaded, settings())

    assert report.groups[2].errors[0].startswith("the rules file has errors")
    assert directory.member_ids(SALES) == sales_ids()
    assert report.exit_code == 1


# --- the incremental path -------------------------------------------------------------------


async def test_reconcile_users_applies_only_that_users_differences() -> None:
    directory = tenant()
    await reconcile_all(directory, policy(), settings())
    directory.users_by_id[uid(100)]["department"] = "Sales"
    directory.users_by_id[uid(100)]["accountEnabled"] = True
    directory.put_member(SALES, uid(200))  # drift the incremental path must not touch
    directory.writes.clear()

    report = await reconcile_users(directory, policy(), settings(), [uid(100)], "notification")

    assert sorted(directory.writes) == [("add", SALES, uid(100)), ("remove", ENG, uid(100))]
    assert report.users_read == 1 and report.exit_code == 0
    assert report.groups[1].plan.removes[0].reason == (
        'rule does not match: department = "Sales" (-eq "Engineering")'
    )


async def test_reconcile_users_skips_a_user_that_no_longer_exists() -> None:
    directory = tenant()
    gone = uid(999)

    report = await reconcile_users(directory, policy(), settings(), [gone, uid(0)], "sync")

    assert report.skipped_users == (gone,)
    assert directory.writes == [("add", SALES, uid(0))]
    assert report.exit_code == 0


async def test_reconcile_users_twice_writes_once() -> None:
    directory = tenant()
    await reconcile_users(directory, policy(), settings(), [uid(0)], "notification")
    directory.writes.clear()

    await reconcile_users(directory, policy(), settings(), [uid(0)], "recheck")

    assert directory.writes == []


async def test_reconcile_users_guard_counts_the_group_only_past_the_floor() -> None:
    directory = tenant(sales=8)
    for user_id in sales_ids(8):
        directory.put_member(SALES, user_id)
    for n in range(5):
        directory.users_by_id[uid(n)]["department"] = None

    report = await reconcile_users(
        directory, policy(), settings(), [uid(n) for n in range(5)], "notification"
    )

    assert directory.writes == []
    assert ("members", SALES) in directory.calls
    assert report.groups[0].plan.guard.members == 8
    assert report.exit_code == 3


async def test_reconcile_users_read_failure_writes_nothing() -> None:
    directory = tenant()
    directory.fail_users = True

    report = await reconcile_users(directory, policy(), settings(), [uid(0)], "notification")

    assert directory.writes == []
    assert report.exit_code == 1
    assert "could not read the users" in report.groups[0].errors[0]


async def test_reconcile_users_reports_a_refused_group() -> None:
    directory = tenant()
    directory.groups[SALES].refusal = "dynamic membership group"

    report = await reconcile_users(directory, policy(), settings(), [uid(0), uid(100)], "sync")

    assert directory.writes == [("add", ENG, uid(100))]
    assert "dynamic membership group" in report.groups[0].errors[0]


# --- the audit trail ------------------------------------------------------------------------


def records(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "reconciler.audit"]


async def test_every_change_is_one_structured_record_and_a_summary_ends_the_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="reconciler.audit")
    directory = tenant()

    await reconcile_all(directory, policy(), settings(), cause="cli", correlation_id="run-42")

    found = records(caplog)
    changes = [r for r in found if r["event"] == "change"]
    assert len(changes) == 7
    assert changes[0].keys() >= {"group", "user", "action", "reason", "cause", "correlationId"}
    assert {(r["cause"], r["correlationId"], r["result"]) for r in changes} == {
        ("cli", "run-42", "done")
    }
    summary = found[-1]
    assert summary["event"] == "summary"
    assert summary["perGroup"][SALES]["written"] == 4
    assert summary["requests"]["userPage"] == 3
    assert summary["durationSeconds"] >= 0
    assert SECRET not in caplog.text


async def test_holds_failures_and_undecided_users_are_audited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="reconciler.audit")
    directory = tenant(sales=20)
    for user_id in sales_ids(20):
        directory.put_member(SALES, user_id)
    for n in range(10):
        directory.users_by_id[uid(n)]["department"] = None
    directory.fail_writes[ENG, uid(101)] = "Request_BadRequest"

    await reconcile_all(directory, policy(), settings())

    found = records(caplog)
    (hold,) = [r for r in found if r["event"] == "hold"]
    assert (hold["group"], hold["removals"], hold["members"]) == (SALES, 10, 20)
    held = [r for r in found if r["event"] == "change" and r["result"] == "held"]
    assert len(held) == 10
    (failure,) = [r for r in found if r["event"] == "failure"]
    assert (failure["group"], failure["user"], failure["error"]) == (
        ENG,
        uid(101),
        "Request_BadRequest",
    )


def test_the_audit_helper_drops_fields_that_look_like_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from reconciler.audit import audit

    caplog.set_level(logging.INFO, logger="reconciler.audit")

    record = audit(
        "failure", cause="cli", correlation_id="c", reason="x", access_token=SECRET, status=401
    )

    assert "access_token" not in record and record["status"] == 401
    assert SECRET not in caplog.text


async def test_progress_reports_groups_users_and_writes() -> None:
    seen: list[tuple[str, int, int | None]] = []

    await reconcile_all(
        tenant(page_size=2), policy(), settings(), progress=lambda *a: seen.append(a)
    )

    assert ("groups", 2, 2) in seen
    assert [done for stage, done, _ in seen if stage == "users"] == [2, 4, 6, 7]
    assert ("writes", 2, 2) in seen

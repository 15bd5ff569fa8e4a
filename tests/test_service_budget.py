"""The shared removal budget and holds in the jobs, against an in-memory directory and state
store: chunked messages cannot exceed the budget, adds still go, holds accumulate, storage
down fails closed, approvals re-read, rejections hold again."""

from __future__ import annotations

from dataclasses import replace

from reconciler.policy import Policy, loads_policy
from reconciler.service import reconcile_all, reconcile_users
from reconciler.service.approval import approve_hold, reject_hold
from reconciler.settings import Settings
from tests.memory_directory import MemoryDirectory
from tests.memory_state import MemoryStateStore

SALES = "10000000-0000-4000-8000-000000000001"
RULES = f"""
[[groups]]
id = "{SALES}"
name = "Sales - all"
rule = '(user.department -eq "Sales") -and (user.accountEnabled -eq true)'
"""


def uid(n: int) -> str:
    return f"20000000-0000-4000-8000-{n:012d}"


def policy() -> Policy:
    loaded = loads_policy(RULES)
    assert loaded.ok, loaded.problems
    return loaded


def settings(**changes: object) -> Settings:
    return replace(Settings(max_removal_percent=20, removal_floor=10), **changes)


def hr_blank(members: int = 420, blanked: int = 252) -> MemoryDirectory:
    """'Sales - all' converged to `members`; then HR blanked the department of `blanked`."""
    users = [
        {"id": uid(n), "department": None if n < blanked else "Sales", "accountEnabled": True}
        for n in range(members)
    ]
    users.append({"id": uid(9999), "department": "Sales", "accountEnabled": True})  # to add
    directory = MemoryDirectory(users, page_size=100)
    directory.add_group(SALES, "Sales - all")
    for n in range(members):
        directory.put_member(SALES, uid(n))
    return directory


async def sync_in_chunks(directory, state, ids, size=50, cause="notification"):
    reports = []
    for start in range(0, len(ids), size):
        reports.append(
            await reconcile_users(
                directory, policy(), settings(), ids[start : start + size], cause, state=state
            )
        )
    return reports


def removed(directory: MemoryDirectory) -> list[str]:
    return [user for action, _, user in directory.writes if action == "remove"]


async def test_chunked_messages_remove_at_most_the_budget_and_hold_the_rest() -> None:
    directory, state = hr_blank(), MemoryStateStore()
    ids = [uid(n) for n in range(252)] + [uid(9999)]
    reports = await sync_in_chunks(directory, state, ids)
    assert len(removed(directory)) == 84  # 20 % of 420
    [hold] = await state.holds("pending")
    assert len(hold.removals) == 252 - 84
    assert set(hold.user_ids).isdisjoint(removed(directory))
    assert uid(9999) in directory.member_ids(SALES)  # adds still go
    assert reports[-1].exit_code == 3 and reports[-1].outcome.kind == "held"
    assert reports[2].groups[0].status == "held"  # every removal it wanted went to the hold
    assert all(r.removals[0].reason.startswith("rule does not match") for r in [hold])


async def test_a_second_look_at_held_users_keeps_them_held_without_spending() -> None:
    directory, state = hr_blank(), MemoryStateStore()
    ids = [uid(n) for n in range(252)]
    await sync_in_chunks(directory, state, ids)
    window_before = state.windows[SALES][0].used
    await sync_in_chunks(directory, state, ids, cause="recheck")
    assert len(removed(directory)) == 84
    assert state.windows[SALES][0].used == window_before
    assert len((await state.holds("pending"))[0].removals) == 168


async def test_storage_down_means_no_removal_but_adds_and_a_retry() -> None:
    directory, state = hr_blank(members=20, blanked=2), MemoryStateStore()
    state.down = True
    report = await reconcile_users(
        directory, policy(), settings(), [uid(0), uid(1), uid(9999)], "notification", state=state
    )
    assert removed(directory) == []
    assert uid(9999) in directory.member_ids(SALES)
    assert (report.outcome.kind, report.outcome.retry) == ("retry", "state")
    [group] = report.groups
    assert {c.user_id for c in group.plan.deferred} == {uid(0), uid(1)}
    state.down = False  # storage is back: the retried message removes them
    again = await reconcile_users(
        directory, policy(), settings(), [uid(0), uid(1), uid(9999)], "notification", state=state
    )
    assert sorted(removed(directory)) == [uid(0), uid(1)] and again.outcome.kind == "done"


async def test_approval_removes_only_those_the_rules_still_remove() -> None:
    directory, state = hr_blank(), MemoryStateStore()
    await sync_in_chunks(directory, state, [uid(n) for n in range(252)])
    [hold] = await state.holds("pending")
    fixed = hold.user_ids[0]
    directory.users_by_id[fixed]["department"] = "Sales"  # HR put this one back meanwhile
    before = len(removed(directory))
    approved, report = await approve_hold(
        directory, policy(), settings(), state, hold.id, by="ops@example"
    )
    assert approved.status == "approved" and approved.decided_by == "ops@example"
    assert set(removed(directory)[before:]) == set(hold.user_ids) - {fixed}
    assert approved.kept == (fixed,)
    assert fixed in directory.member_ids(SALES)
    assert all(e.by == "ops@example" for e in state.entries if e.cause == "approval")
    assert report.exit_code == 0


async def test_rejection_removes_nobody_and_the_next_run_holds_them_again() -> None:
    directory, state = hr_blank(), MemoryStateStore()
    ids = [uid(n) for n in range(252)]
    await sync_in_chunks(directory, state, ids)
    [hold] = await state.holds("pending")
    rejected = await reject_hold(state, hold.id, by="ops")
    assert rejected.status == "rejected" and len(removed(directory)) == 84
    state.windows.clear()  # even with a fresh budget, rejected users are not removed silently
    await sync_in_chunks(directory, state, ids, cause="recheck")
    assert len(removed(directory)) == 84
    [again] = await state.holds("pending")
    assert set(again.user_ids) == set(hold.user_ids) and again.id != hold.id


async def test_a_full_run_held_by_its_guard_stores_the_hold() -> None:
    directory, state = hr_blank(), MemoryStateStore()
    report = await reconcile_all(directory, policy(), settings(), state=state)
    [group] = report.groups
    assert group.plan.held and group.plan.hold_id
    assert removed(directory) == []
    hold = await state.hold(group.plan.hold_id)
    assert len(hold.removals) == 252
    assert state.states[SALES].last_full_result == "held"
    assert state.states[SALES].members == 420


async def test_a_full_run_within_the_guard_spends_the_same_budget() -> None:
    directory, state = hr_blank(members=420, blanked=110), MemoryStateStore()
    await sync_in_chunks(directory, state, [uid(n) for n in range(50)])
    assert len(removed(directory)) == 50
    # the run's own guard lets 60 of 370 pass; the shared budget has 34 left of 84
    report = await reconcile_all(directory, policy(), settings(), state=state)
    assert len(removed(directory)) == 84
    [group] = report.groups
    assert not group.plan.held and len(group.plan.deferred) == 26 and group.plan.hold_id

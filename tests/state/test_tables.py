"""TableStateStore on Azurite's table service: ETag-guarded budget (deliberate races of
concurrent spenders), holds that accumulate and are decided, group state, history, and a
store that is down failing closed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from devhost.azurite import Azurite
from reconciler.plan.budget import TENANT, BudgetLimits, BudgetWindow
from reconciler.service.budget import spend
from reconciler.state import (
    GroupStateUpdate,
    HeldRemoval,
    HistoryEntry,
    HoldError,
    StateConflict,
    StateUnavailable,
)
from reconciler.state.tables import TableStateStore
from tests.state.conftest import store_settings

GROUP = "10000000-0000-4000-8000-000000000001"
OTHER = "10000000-0000-4000-8000-000000000002"
LIMITS = BudgetLimits(max_removal_percent=20, removal_floor=10, window_minutes=60, tenant_max=500)


def now() -> datetime:
    return datetime.now(UTC)


async def members(_group_id: str) -> int:
    return 420


async def test_a_commit_on_a_stale_read_is_a_conflict(store: TableStateStore) -> None:
    first = await store.read_budget([GROUP])
    assert first.windows == {}
    window = BudgetWindow(420, ((1, 5),))
    await store.commit_budget(first, {GROUP: window, TENANT: window})
    with pytest.raises(StateConflict):
        await store.commit_budget(first, {GROUP: window, TENANT: window})  # create again
    second = await store.read_budget([GROUP])
    assert second.windows[GROUP] == window
    await store.commit_budget(second, {GROUP: BudgetWindow(420, ((1, 6),))})
    with pytest.raises(StateConflict):
        await store.commit_budget(second, {GROUP: BudgetWindow(420, ((1, 7),))})
    assert (await store.read_budget([GROUP])).windows[GROUP].spent == ((1, 6),)


async def test_racing_workers_never_spend_more_than_the_budget(azurite, prefix: str) -> None:
    """Twelve workers, each with its own client (own connections), spend 30 removals each at
    once from one 420-member group: together exactly 84, and the table says 84."""
    workers = [
        TableStateStore.from_settings(store_settings(azurite.connection_string, prefix))
        for _ in range(12)
    ]
    try:
        at = now()
        grants = await asyncio.gather(
            *(spend(w, {GROUP: 30}, LIMITS, at, percents={}, member_count=members) for w in workers)
        )
        assert sum(g.granted[GROUP] for g in grants) == 84
        snapshot = await workers[0].read_budget([GROUP])
        assert snapshot.windows[GROUP].used == 84
        assert snapshot.windows[TENANT].used == 84
    finally:
        for worker in workers:
            await worker.close()


async def test_racing_groups_share_the_tenant_window(azurite, prefix: str) -> None:
    limits = BudgetLimits(max_removal_percent=50, removal_floor=10, tenant_max=100)
    groups = [f"10000000-0000-4000-8000-0000000001{n:02d}" for n in range(8)]
    workers = [
        TableStateStore.from_settings(store_settings(azurite.connection_string, prefix))
        for _ in groups
    ]
    try:
        at = now()
        grants = await asyncio.gather(
            *(
                spend(w, {g: 40}, limits, at, percents={}, member_count=members)
                for w, g in zip(workers, groups, strict=True)
            )
        )
        assert sum(sum(g.granted.values()) for g in grants) == 100
    finally:
        for worker in workers:
            await worker.close()


async def test_a_hold_accumulates_users_and_keeps_their_latest_reason(
    store: TableStateStore,
) -> None:
    first = await store.add_to_hold(GROUP, "Sales", [HeldRemoval("u1", "old")], now())
    second = await store.add_to_hold(
        GROUP, "Sales", [HeldRemoval("u1", "new"), HeldRemoval("u2", "r")], now()
    )
    assert second.id == first.id and second.status == "pending"
    assert [(r.user_id, r.reason) for r in second.removals] == [("u1", "new"), ("u2", "r")]
    [listed] = await store.holds("pending")
    assert listed.id == first.id and len(listed.removals) == 2
    assert (await store.hold(first.id)).group_name == "Sales"
    holds = await store.group_holds([GROUP, OTHER])
    assert holds[GROUP].held_users == {"u1", "u2"} and holds[OTHER].pending is None


async def test_concurrent_additions_to_one_hold_lose_nobody(azurite, prefix: str) -> None:
    workers = [
        TableStateStore.from_settings(store_settings(azurite.connection_string, prefix))
        for _ in range(8)
    ]
    try:
        await asyncio.gather(
            *(
                w.add_to_hold(
                    GROUP, "Sales", [HeldRemoval(f"u{n}-{k}", "r") for k in range(20)], now()
                )
                for n, w in enumerate(workers)
            )
        )
        [hold] = await workers[0].holds("pending")
        assert len(hold.removals) == 160
    finally:
        for worker in workers:
            await worker.close()


async def test_a_large_hold_is_stored_in_parts(store: TableStateStore) -> None:
    removals = [
        HeldRemoval(f"20000000-0000-4000-8000-{n:012d}", f"reason {n % 3}") for n in range(3000)
    ]
    hold = await store.add_to_hold(GROUP, "Sales", removals, now())
    assert len((await store.hold(hold.id)).removals) == 3000


async def test_approval_takes_the_users_out_and_a_new_hold_starts(store: TableStateStore) -> None:
    hold = await store.add_to_hold(GROUP, "Sales", [HeldRemoval("u1", "r")], now())
    approving = await store.begin_approval(hold.id, "ops", now())
    assert approving.status == "approving" and approving.decided_by == "ops"
    assert (await store.begin_approval(hold.id, "ops", now())).status == "approving"
    assert (await store.group_holds([GROUP]))[GROUP].pending is None
    later = await store.add_to_hold(GROUP, "Sales", [HeldRemoval("u2", "r")], now())
    assert later.id != hold.id
    done = await store.finish_approval(approving, ["u1"], [], now())
    assert (await store.hold(hold.id)).removed == ("u1",) and done.status == "approved"
    with pytest.raises(HoldError, match="already approved"):
        await store.reject(hold.id, "ops", now())


async def test_rejected_users_are_remembered_for_the_next_run(store: TableStateStore) -> None:
    hold = await store.add_to_hold(GROUP, "Sales", [HeldRemoval("u1", "r")], now())
    rejected = await store.reject(hold.id, "ops", now())
    assert rejected.status == "rejected"
    holds = (await store.group_holds([GROUP]))[GROUP]
    assert holds.pending is None and holds.rejected == {"u1"}
    assert {h.status for h in await store.holds()} == {"rejected"}


async def test_hold_ids_are_checked(store: TableStateStore) -> None:
    with pytest.raises(HoldError) as invalid:
        await store.hold("x' or 'a' eq 'a")
    assert invalid.value.kind == "invalid"
    with pytest.raises(HoldError) as missing:
        await store.hold("0123456789ab")
    assert missing.value.kind == "not-found"


async def test_group_state_merges_what_each_writer_knows(store: TableStateStore) -> None:
    at = now()
    await store.update_groups(
        [
            GroupStateUpdate(
                GROUP,
                name="Sales",
                members=420,
                last_full_at=at,
                last_full_result="written",
                last_full_counts={"adds": 3},
            )
        ]
    )
    await store.update_groups([GroupStateUpdate(GROUP, last_change_at=at, last_error="boom")])
    [state] = await store.group_states()
    assert (state.name, state.members, state.last_full_result) == ("Sales", 420, "written")
    assert state.last_full_counts == {"adds": 3} and state.last_error == "boom"
    assert state.last_change_at is not None and abs(state.last_change_at - at) < timedelta(
        seconds=1
    )


async def test_history_lists_newest_first_and_old_days_are_purged(store: TableStateStore) -> None:
    at = now()
    old = at - timedelta(days=40)
    entries = [
        HistoryEntry(at - timedelta(seconds=n), GROUP, f"u{n}", "remove", "done", "r", "sweep", "c")
        for n in range(3)
    ]
    await store.append_history(
        [*entries, HistoryEntry(old, GROUP, "u9", "add", "done", "r", "sweep", "c")]
    )
    listed = await store.history(group_id=GROUP)
    assert [e.user_id for e in listed] == ["u0", "u1", "u2"]
    assert await store.purge_history(at - timedelta(days=30)) == 1
    assert len(await store.history(since=old - timedelta(days=1))) == 3


async def test_a_store_that_is_down_fails_closed(prefix: str) -> None:
    with Azurite(services=("table",)) as stopped:
        connection = stopped.connection_string
    store = TableStateStore.from_settings(store_settings(connection, prefix))
    try:
        with pytest.raises(StateUnavailable):
            await store.read_budget([GROUP])
        with pytest.raises(StateUnavailable):
            await spend(store, {GROUP: 5}, LIMITS, now(), percents={}, member_count=members)
    finally:
        await store.close()


async def test_a_hold_too_large_for_its_row_fails_closed(store: TableStateStore) -> None:
    removals = [HeldRemoval(f"u{n}", "r") for n in range(20_001)]
    with pytest.raises(StateUnavailable, match="decide it"):
        await store.add_to_hold(GROUP, "Sales", removals, now())
    assert (await store.group_holds([GROUP]))[GROUP].pending is None


async def test_one_worker_of_many_claims_the_burst_pass(azurite, prefix: str) -> None:
    """Eight workers see no pass and claim at once: one wins, the others get StateConflict;
    finishing records the winner's start as the last pass, and the group rows stay groups."""
    workers = [
        TableStateStore.from_settings(store_settings(azurite.connection_string, prefix))
        for _ in range(8)
    ]
    try:
        seen = await workers[0].burst_pass()
        assert seen.version is None and seen.last_started_at is None
        at = now()
        claims = await asyncio.gather(
            *(w.claim_burst_pass(seen, f"worker-{n}", at) for n, w in enumerate(workers)),
            return_exceptions=True,
        )
        won = [c for c in claims if not isinstance(c, BaseException)]
        assert len(won) == 1 and all(isinstance(c, StateConflict) for c in claims if c not in won)
        running = await workers[1].burst_pass()
        assert running.owner == won[0].owner and running.running_since == at
        with pytest.raises(StateConflict):  # a stale claim cannot be finished
            await workers[1].finish_burst_pass(seen, completed=True)
        await workers[0].finish_burst_pass(won[0], completed=True)
        done = await workers[2].burst_pass()
        assert done.last_started_at == at and done.running_since is None and done.owner == ""
        assert await workers[0].group_states() == []
    finally:
        for worker in workers:
            await worker.close()


async def test_an_abandoned_burst_pass_keeps_the_last_start(store: TableStateStore) -> None:
    first = await store.claim_burst_pass(await store.burst_pass(), "a", now())
    await store.finish_burst_pass(first, completed=True)
    second = await store.claim_burst_pass(await store.burst_pass(), "b", now())
    await store.finish_burst_pass(second, completed=False)  # Graph failed mid-pass
    assert (await store.burst_pass()).last_started_at == first.running_since

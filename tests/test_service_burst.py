"""Burst coalescing decisions against an in-memory directory and state store: when a backlog
counts as a burst, which messages a pass covers, waiting on a running pass, taking over a
dead worker's claim, and a failed pass that covers nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from reconciler.policy import Policy, loads_policy
from reconciler.service.burst import (
    STALE_AFTER,
    coalesce,
    in_burst,
    known_covered,
    readable_since,
)
from reconciler.settings import Settings
from reconciler.state import BurstPass
from reconciler.work import message as work
from tests.memory_directory import MemoryDirectory
from tests.memory_state import MemoryStateStore

SALES = "10000000-0000-4000-8000-000000000001"
RULES = f"""
[[groups]]
id = "{SALES}"
name = "Sales - all"
rule = 'user.department -eq "Sales"'
"""
T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SETTINGS = Settings(recheck_delay_seconds=60)


def uid(n: int) -> str:
    return f"20000000-0000-4000-8000-{n:012d}"


def policy() -> Policy:
    loaded = loads_policy(RULES)
    assert loaded.ok, loaded.problems
    return loaded


def tenant(sales: int = 30) -> MemoryDirectory:
    directory = MemoryDirectory(
        [{"id": uid(n), "department": "Sales"} for n in range(sales)], page_size=10
    )
    directory.add_group(SALES, "Sales - all")
    return directory


def message(at: datetime, cause: str = "notification", users: int = 200) -> work.UsersMessage:
    [first] = work.users_messages([uid(n) for n in range(users)], cause=cause, now=at)
    return first


@pytest.mark.parametrize(
    ("users", "backlog", "threshold", "burst"),
    [(200, 9, 2000, True), (200, 8, 2000, False), (1, 1999, 2000, True), (200, 500, 0, False)],
)
def test_a_burst_is_the_backlog_estimate_at_the_threshold(
    users: int, backlog: int, threshold: int, burst: bool
) -> None:
    assert in_burst(message(T0, users=users), backlog, threshold) is burst


def test_a_recheck_asks_for_a_pass_after_its_delayed_look() -> None:
    assert readable_since(message(T0), SETTINGS) == T0
    assert readable_since(message(T0, "recheck"), SETTINGS) == T0 + timedelta(seconds=60)


async def test_the_first_message_runs_the_pass_and_the_older_ones_are_covered() -> None:
    directory, state = tenant(), MemoryStateStore()
    result = await coalesce(message(T0), directory, policy(), SETTINGS, state, now=T0)
    assert result is not None and result.action == "passed" and result.report is not None
    assert len(directory.member_ids(SALES)) == 30  # the whole group, in one pass
    assert "users" not in directory.request_counts()  # a listing, no per-user reads
    assert state.burst.last_started_at == T0 and state.burst.running_since is None
    covered = await coalesce(
        message(T0 - timedelta(seconds=5)), directory, policy(), SETTINGS, state, now=T0
    )
    assert covered is not None and (covered.action, covered.report) == ("covered", None)


async def test_a_running_pass_is_waited_for_only_if_it_will_cover_the_message() -> None:
    state = MemoryStateStore()
    state.burst = BurstPass(running_since=T0, owner="other", version="7")
    soon = T0 + timedelta(seconds=2)
    older = await coalesce(
        message(T0 - timedelta(seconds=1)), tenant(), policy(), SETTINGS, state, now=soon
    )
    assert older is not None and older.action == "waiting"
    newer = await coalesce(
        message(T0 + timedelta(seconds=1)), tenant(), policy(), SETTINGS, state, now=soon
    )
    assert newer is None  # the running pass may have read before this change: per-user path


async def test_a_dead_workers_claim_is_taken_over() -> None:
    directory, state = tenant(), MemoryStateStore()
    state.burst = BurstPass(running_since=T0, owner="dead", version="7")
    later = T0 + STALE_AFTER + timedelta(seconds=1)
    result = await coalesce(message(T0), directory, policy(), SETTINGS, state, now=later)
    assert result is not None and result.action == "passed"
    assert state.burst.last_started_at == later


async def test_a_pass_that_graph_failed_covers_nothing() -> None:
    directory, state = tenant(), MemoryStateStore()
    state.burst = BurstPass(last_started_at=T0 - timedelta(hours=1), version="3")
    directory.fail_listing_at_page = 2
    result = await coalesce(message(T0), directory, policy(), SETTINGS, state, now=T0)
    assert result is not None and result.report is not None
    assert result.report.outcome.kind == "retry"
    assert state.burst.last_started_at == T0 - timedelta(hours=1)  # unchanged
    assert state.burst.running_since is None  # released for the next worker


async def test_the_tail_of_a_burst_is_covered_by_a_pass_this_process_saw() -> None:
    directory, state = tenant(), MemoryStateStore()
    settings = replace(SETTINGS, state_table_prefix="tail")
    await coalesce(message(T0), directory, policy(), settings, state, now=T0)
    state.down = True  # no read is needed to know it
    assert known_covered(message(T0 - timedelta(seconds=1)), settings)
    assert not known_covered(message(T0 + timedelta(seconds=1)), settings)
    assert not known_covered(
        message(T0 - timedelta(seconds=1)), replace(settings, state_table_prefix="other")
    )

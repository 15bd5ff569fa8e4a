"""Typed outcomes: a run's outcome comes from its groups' faults, and the worker answers the
host from the outcome alone, so rewording (or garbling) any error text changes nothing."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.plan import GuardVerdict, blocked_plan
from reconciler.plan.model import GroupPlan, MembershipChange
from reconciler.policy import loads_policy
from reconciler.service import Outcome, reconcile_all, reconcile_users
from reconciler.service.report import GroupResult, RunReport, WriteFailure
from reconciler.settings import Settings
from reconciler.work import message as work
from reconciler.work.worker import RetryLater, WorkerOutcome, settle
from tests.memory_directory import MemoryDirectory

SALES = "10000000-0000-4000-8000-000000000001"
USER = "20000000-0000-4000-8000-000000000001"
RULES = f"""
[[groups]]
id = "{SALES}"
name = "Sales"
rule = 'user.department -eq "Sales"'
"""

# Texts that once decided retries by their prefix, and anything else at all.
texts = st.sampled_from(["could not read the group", "state store unavailable: x", ""]) | st.text()


class RecordingQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    async def send(self, text: str, *, delay_seconds: int = 0) -> None:
        self.sent.append((text, delay_seconds))

    async def backlog(self) -> int:
        return 0  # a quiet queue: no burst

    async def send_to_poison(self, text: str) -> None:
        raise AssertionError("settle never poisons: only undecodable messages go there")


def report_of(*plans: GroupPlan, failures: tuple[WriteFailure, ...] = ()) -> RunReport:
    results = tuple(
        GroupResult(plan, failures=failures if n == 0 else ()) for n, plan in enumerate(plans)
    )
    return RunReport("sync", "c", False, results, 0.0)


@given(error=texts, other=texts)
def test_a_directory_fault_means_retry_whatever_the_error_says(error: str, other: str) -> None:
    report = report_of(
        blocked_plan("g1", "one", False, error, "directory"),
        blocked_plan("g2", "two", False, other, "state"),
    )
    assert (report.outcome.kind, report.outcome.retry) == ("retry", "directory")


@given(error=texts)
def test_a_state_fault_alone_waits_for_the_store_whatever_the_error_says(error: str) -> None:
    plan = GroupPlan("g1", "one", False, GuardVerdict.clear()).withhold_removals(error)
    assert (report_of(plan).outcome.kind, report_of(plan).outcome.retry) == ("retry", "state")


@given(error=texts)
def test_an_error_without_a_fault_fails_for_good_whatever_it_says(error: str) -> None:
    outcome = report_of(blocked_plan("g1", "one", False, error)).outcome
    assert (outcome.kind, outcome.retry) == ("failed", None)


@given(reason=texts)
def test_a_write_that_did_not_land_is_a_directory_retry_whatever_graph_said(reason: str) -> None:
    change = MembershipChange("g1", USER, "add", "rule matches")
    plan = GroupPlan("g1", "one", False, GuardVerdict.clear(), adds=(change,))
    failure = WriteFailure("g1", USER, "add", reason)
    assert report_of(plan, failures=(failure,)).outcome.retry == "directory"


def test_held_and_done_runs() -> None:
    held = replace(GroupPlan("g1", "one", False, GuardVerdict.clear()), hold_id="h1")
    assert report_of(held).outcome.kind == "held"
    assert report_of(GroupPlan("g2", "two", False, GuardVerdict.clear())).outcome == Outcome.done()


OUTCOMES = [
    ("done", None),
    ("held", None),
    ("failed", None),
    ("retry", "directory"),
    ("retry", "state"),
]


def answer(kind: str, retry: str | None, reason: str, cause: str = "notification") -> tuple:
    """What the worker tells the host for this outcome: raised, re-queued, rechecks sent."""
    [message] = work.users_messages([USER], cause=cause)  # type: ignore[arg-type]
    text = work.encode(message)
    done = WorkerOutcome("users", outcome=Outcome(kind, reason, retry))  # type: ignore[arg-type]
    queue = RecordingQueue()
    try:
        asyncio.run(settle(message, text, done, Settings(recheck_delay_seconds=30), queue))
    except RetryLater:
        return ("raised", queue.sent)
    requeued = [delay for body, delay in queue.sent if body == text]
    rechecks = [work.decode(body).cause for body, _ in queue.sent if body != text]
    return ("requeued" if requeued else "completed", rechecks)


@pytest.mark.parametrize(("kind", "retry"), OUTCOMES)
@given(reason=texts, reworded=texts)
def test_rewording_an_outcome_reason_never_changes_what_the_host_is_told(
    kind: str, retry: str | None, reason: str, reworded: str
) -> None:
    assert answer(kind, retry, reason) == answer(kind, retry, reworded)


@pytest.mark.parametrize(
    ("kind", "retry", "expected"),
    [
        ("done", None, ("completed", ["recheck"])),
        ("held", None, ("completed", ["recheck"])),
        ("failed", None, ("completed", ["recheck"])),
        ("retry", "directory", ("raised", [])),
        ("retry", "state", ("requeued", [])),
    ],
)
def test_each_outcome_maps_to_one_host_answer(
    kind: str, retry: str | None, expected: tuple
) -> None:
    assert answer(kind, retry, "whatever") == expected
    assert answer(kind, retry, "whatever", cause="recheck")[0] == expected[0]


def tenant() -> MemoryDirectory:
    directory = MemoryDirectory([{"id": USER, "department": "Sales"}])
    directory.add_group(SALES, "Sales")
    return directory


async def test_the_jobs_type_a_failed_read_as_a_directory_retry() -> None:
    policy = loads_policy(RULES)
    directory = tenant()
    directory.fail_members.add(SALES)
    report = await reconcile_all(directory, policy, Settings())
    assert report.outcome.retry == "directory"
    directory = tenant()
    directory.fail_users = True
    report = await reconcile_users(directory, policy, Settings(), [USER], "sync")
    assert report.outcome.retry == "directory"


async def test_the_jobs_type_a_refused_group_as_failed_not_retried() -> None:
    directory = MemoryDirectory([{"id": USER, "department": "Sales"}])
    directory.add_group(SALES, "Sales", refusal="it is a dynamic membership group")
    report = await reconcile_all(directory, loads_policy(RULES), Settings())
    assert (report.outcome.kind, report.outcome.retry) == ("failed", None)

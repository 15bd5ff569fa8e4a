"""Two workers on one queue, conflicting quick edits of the same users.

Worker 1 is the in-process devhost of the fault stack; worker 2 is `python -m devhost` in its own
process on the same Azurite queue. Users are edited A -> B -> A (and A -> Sales -> Engineering
-> Sales) within about 100 ms with every notification duplicated, so both workers read and write
the same users at the same time, some of them from stale reads. The memberships must converge
to the final attributes through the `recheck` mechanism alone (no full reconciliation: its timer
is pushed out of reach), and once converged and drained nothing may flap: the write log stays
quiet for a window measured by polling.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.process import DevHostProcess
from harness.scenario import (
    SALES,
    Edits,
    check,
    create_subscription,
    fault_stack,
    oracle,
    queue_count,
    wait_quiet,
)
from harness.stack import ROOT, Stack
from tests.devhost.fixtures import wait_until

NEVER = "0 0 0 1 1 *"  # the full reconciliation timer: 1 January, out of any test's reach
QUIET_WINDOW = 3.0  # seconds: three times RECHECK_DELAY_SECONDS


@pytest.fixture(scope="module")
def two_workers(azurite, loopback_only: None) -> Iterator[tuple[Stack, Path, list[str]]]:
    never = {"FULL_RECONCILE_SCHEDULE": NEVER}
    with (
        fault_stack(azurite.connection_string, never) as (stack, rules),
        DevHostProcess(host_json=ROOT / "tests/devhost/host.json", env=os.environ) as second,
    ):
        yield stack, rules, second.lines


def off(rules: Path, stack: Stack, users: set[str]) -> list[tuple[str, str]]:
    """(group, user) pairs of the edited users whose membership differs from the rules."""
    tenant = stack.graph.export_tenant()
    return [
        (group_id, uid)
        for group_id, want in oracle(rules, tenant).items()
        for uid in sorted((want ^ set(tenant["members"].get(group_id, ()))) & users)
    ]


def test_conflicting_quick_edits_converge_through_rechecks_and_do_not_flap(
    two_workers: tuple[Stack, Path, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    stack, rules, second_log = two_workers
    caplog.set_level(logging.INFO, logger="devhost")
    wait_quiet(stack)
    stack.graph.reset()
    create_subscription(stack)
    wait_quiet(stack)
    stack.graph.update_settings(duplicate_notifications=True)
    editor = Edits(stack, random.Random(7), protected=set())
    tenant = stack.graph.export_tenant()
    members = set(tenant["members"][SALES])
    chosen = [
        u["id"]
        for u in tenant["users"]
        if u.get("department") == "Marketing" and u.get("accountEnabled") and u["id"] not in members
    ][:8]
    assert len(chosen) == 8
    for round_ in range(2):
        for n, uid in enumerate(chosen):
            first = editor.users[uid].get("department")
            path = ["Sales", first] if n % 2 == 0 else ["Sales", "Engineering", "Sales"]
            for department in path:  # A -> B -> A within ~100 ms
                editor.patch(uid, department=department)
                time.sleep(0.03)
        if round_ == 0:
            time.sleep(0.2)  # the second round meets the first round's messages and rechecks
    users = set(chosen)
    expected_in_sales = {uid for n, uid in enumerate(chosen) if n % 2 == 1}
    assert expected_in_sales <= oracle(rules, stack.graph.export_tenant())[SALES]

    wait_until(lambda: not off(rules, stack, users), timeout=30, what="convergence by rechecks")
    wait_quiet(stack)
    assert off(rules, stack, users) == []

    # Nothing flaps: the write log stays quiet for QUIET_WINDOW, polled, with nothing queued.
    settled = len(stack.graph.writes())
    deadline = time.monotonic() + QUIET_WINDOW
    while time.monotonic() < deadline:
        assert len(stack.graph.writes()) == settled, "a membership flapped after converging"
        time.sleep(0.1)
    assert queue_count(stack) == 0
    assert off(rules, stack, users) == []
    figures = check(rules, stack.graph.export_tenant(), stack.graph.writes(), editor)
    assert figures.partial_removals == figures.paused_writes == 0, figures.problems

    # Both workers took part (each logs its own invocations).
    executed = "Executed 'Functions.process_user_changes'"
    first = sum(executed in r.getMessage() for r in caplog.records)
    assert first > 0, "worker 1 processed nothing"
    assert any(executed in line for line in list(second_log)), "worker 2 processed nothing"

"""Seeded scenarios that also hurt processes: the worker killed (SIGKILL) between a membership
write and its message's completion, Azurite stopped and restarted with its queues on disk, and
the table service (the removal budget) stopped while the queues run on.

The fault plan is the lossless subset (latency, Graph slower than 3 s, duplicated, reordered and
delayed notifications), so nothing excuses a change the incremental path (webhook, queue,
worker, recheck) did not apply: every edited user must be right *before* the full
reconciliation, which then must find nothing wrong either.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.scenario import process_fault_stack, run_scenario
from harness.stack import Stack


@pytest.fixture(scope="module")
def hurt_stack(loopback_only: None) -> Iterator[tuple[Stack, Path]]:
    with process_fault_stack() as running:
        yield running


@pytest.mark.parametrize("seed", [1, 2])
def test_a_killed_worker_a_restarted_azurite_and_stopped_tables_lose_no_change(
    hurt_stack: tuple[Stack, Path], seed: int
) -> None:
    stack, rules = hurt_stack
    figures = run_scenario(stack, rules, seed, lossless=True)
    print(figures.line())
    assert figures.faults_by_kind["sigkill"] >= 1, "no kill landed between a write and its ack"
    assert figures.faults_by_kind["azurite-restart"] == 1
    assert figures.faults_by_kind["table-outage"] == 1
    assert figures.off_before_sweep == 0, "the incremental path lost a change"
    assert figures.problems == []
    assert figures.wrong == figures.lost == 0
    assert figures.partial_removals == figures.paused_writes == 0
    assert figures.unbudgeted_removals == 0, "a removal was written without a budget spend"

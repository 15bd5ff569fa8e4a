"""The CI subset of the seeded fault scenarios (bench/bench_faults.py runs many more seeds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.scenario import run_scenario
from harness.stack import Stack


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_memberships_converge_and_no_removal_is_made_on_partial_data(
    faults_stack: tuple[Stack, Path], seed: int
) -> None:
    stack, rules = faults_stack
    figures = run_scenario(stack, rules, seed)
    print(figures.line())
    assert figures.edits > 0
    assert figures.faults_injected > 0
    assert figures.problems == []
    assert figures.wrong == figures.lost == 0
    assert figures.partial_removals == figures.paused_writes == 0

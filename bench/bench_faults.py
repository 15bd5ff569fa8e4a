"""Seeded fault scenarios over the whole local stack, many seeds: the long run of
tests/reliability (same scenario code, harness/scenario.py).

Each seed: random user edits through Graph under a random fault plan (429 storms with
Retry-After, 500/503/504, disconnects in paged listings and on $batch, latency, dropped,
duplicated, reordered and delayed notifications), then one full reconciliation; every managed
group must equal the oracle computed from the emulator's final export, and no removal in the
write log may have been made on partial data. Prints one line per seed and the totals; exits 1
if anything was wrong or lost.

With --process-faults the worker runs as a child process and each seed also kills it (SIGKILL)
between a membership write and its message's completion, stops and restarts Azurite (on
disk), and stops the table service (the removal budget) alone for a few edits. Every seed
fails the run if a removal was written beyond the budget the tables recorded. --lossless keeps
only faults that cannot lose a notification, and then also fails the run if any edited user
was still wrong before the full reconciliation.

Usage: .venv/bin/python bench/bench_faults.py [--seeds 20] [--first 1] [--edits 25]
                                              [--process-faults] [--lossless]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devhost.azurite import Azurite  # noqa: E402
from harness.scenario import (  # noqa: E402
    Figures,
    fault_stack,
    process_fault_stack,
    run_scenario,
)
from harness.stack import Stack  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds (default 20)")
    parser.add_argument("--first", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument("--edits", type=int, default=25, help="edits per scenario (default 25)")
    parser.add_argument("--verbose", action="store_true", help="show the stack's logs")
    parser.add_argument(
        "--process-faults",
        action="store_true",
        help="also kill the worker and restart Azurite in every scenario",
    )
    parser.add_argument(
        "--lossless",
        action="store_true",
        help="only faults that cannot lose a change; then nothing may be off before the sweep",
    )
    args = parser.parse_args()
    if not args.verbose:  # the stack logs every injected failure; the figures are the output
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)
    total = Figures()
    failed = 0
    started = time.monotonic()
    with stack_for(args.process_faults) as (stack, rules):
        for seed in range(args.first, args.first + args.seeds):
            try:
                figures = run_scenario(stack, rules, seed, edits=args.edits, lossless=args.lossless)
            except AssertionError as failure:  # a hang or a failed step: a finding, keep going
                figures = Figures(scenarios=1, problems=[f"seed {seed}: {failure}"])
                failed += 1
            if args.lossless and figures.off_before_sweep:
                figures.problems.append(
                    f"seed {seed}: {figures.off_before_sweep} memberships of edited users were "
                    "off before the sweep although no fault could lose a change"
                )
                failed += 1
            print(f"seed {seed}: {figures.line()}", flush=True)
            for problem in figures.problems:
                print(f"  {problem}", flush=True)
            total.add(figures)
    print(f"total: {total.line()}, scenarios that failed to finish {failed}")
    print(f"wall clock {time.monotonic() - started:.1f} s")
    return 0 if total.ok and not failed else 1


@contextmanager
def stack_for(process_faults: bool) -> Iterator[tuple[Stack, Path]]:
    if process_faults:
        with process_fault_stack() as running:
            yield running
        return
    with (
        Azurite(services=("blob", "queue", "table")) as azurite,
        fault_stack(azurite.connection_string) as running,
    ):
        yield running


if __name__ == "__main__":
    sys.exit(main())

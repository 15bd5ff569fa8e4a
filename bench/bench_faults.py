"""Seeded fault scenarios over the whole local stack, many seeds: the long run of
tests/reliability (same scenario code, tests/reliability/scenario.py).

Each seed: random user edits through Graph under a random fault plan (429 storms with
Retry-After, 500/503/504, disconnects in paged listings and on $batch, latency, dropped,
duplicated, reordered and delayed notifications), then one full reconciliation; every managed
group must equal the oracle computed from the emulator's final export, and no removal in the
write log may have been made on partial data. Prints one line per seed and the totals; exits 1
if anything was wrong or lost.

Usage: .venv/bin/python bench/bench_faults.py [--seeds 20] [--first 1] [--edits 25]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devhost.azurite import Azurite  # noqa: E402
from tests.reliability.scenario import Figures, fault_stack, run_scenario  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds (default 20)")
    parser.add_argument("--first", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument("--edits", type=int, default=25, help="edits per scenario (default 25)")
    parser.add_argument("--verbose", action="store_true", help="show the stack's logs")
    args = parser.parse_args()
    if not args.verbose:  # the stack logs every injected failure; the figures are the output
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)
    total = Figures()
    failed = 0
    started = time.monotonic()
    with (
        Azurite(services=("queue",)) as azurite,
        fault_stack(azurite.connection_string) as (
            stack,
            rules,
        ),
    ):
        for seed in range(args.first, args.first + args.seeds):
            try:
                figures = run_scenario(stack, rules, seed, edits=args.edits)
            except AssertionError as failure:  # a hang or a failed step: a finding, keep going
                figures = Figures(scenarios=1, problems=[f"seed {seed}: {failure}"])
                failed += 1
            print(f"seed {seed}: {figures.line()}", flush=True)
            for problem in figures.problems:
                print(f"  {problem}", flush=True)
            total.add(figures)
    print(f"total: {total.line()}, scenarios that failed to finish {failed}")
    print(f"wall clock {time.monotonic() - started:.1f} s")
    return 0 if total.ok and not failed else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the removal-budget check a queue message with a removal pays, on Azurite's
table service: the pending-hold read, the budget read and the ETag-guarded commit
(`reconciler.service.holding.hold_removals` minus the Graph writes).

1. one worker, one removal per message, a group that never runs out of budget: latency of
   the check per message (p50 / p99);
2. `--workers` workers at once on the same group, each message one removal: the same
   latency under contention (412s and retries included), and the total granted, which must
   equal the budget when the group runs out.

Usage: .venv/bin/python bench/bench_budget.py [--messages 500] [--workers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devhost.azurite import Azurite
from reconciler.plan.budget import BudgetLimits
from reconciler.service.budget import spend
from reconciler.settings import Settings
from reconciler.state.tables import TableStateStore

GROUP = "10000000-0000-4000-8000-000000000001"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def members(_group_id: str) -> int:
    return 100_000


async def check(store: TableStateStore, limits: BudgetLimits) -> tuple[float, int]:
    """One message's budget check for one removal: what hold_removals reads and writes."""
    started = time.perf_counter()
    await store.group_holds([GROUP])
    granted = await spend(
        store, {GROUP: 1}, limits, datetime.now(UTC), percents={}, member_count=members
    )
    return time.perf_counter() - started, granted.granted.get(GROUP, 0)


async def run(connection: str, messages: int, workers: int) -> None:
    def store(prefix: str) -> TableStateStore:
        return TableStateStore.from_settings(
            Settings(storage_connection=connection, state_table_prefix=prefix)
        )

    roomy = BudgetLimits(max_removal_percent=100, removal_floor=10, tenant_max=0)
    single = store("benchone")
    await check(single, roomy)  # tables created, connection warm
    timings = [(await check(single, roomy))[0] for _ in range(messages)]
    await single.close()
    print(
        f"1 worker, {messages} messages: budget check p50 {percentile(timings, 0.5) * 1000:.1f} "
        f"ms, p99 {percentile(timings, 0.99) * 1000:.1f} ms"
    )

    budget = messages // 2  # the group runs out half-way
    tight = BudgetLimits(max_removal_percent=budget / 1000, removal_floor=0, tenant_max=0)
    stores = [store("benchrace") for _ in range(workers)]
    await check(stores[0], tight)
    queue = list(range(messages - 1))

    async def worker(own: TableStateStore) -> list[tuple[float, int]]:
        done = []
        while queue:
            queue.pop()
            done.append(await check(own, tight))
        return done

    results = [r for rs in await asyncio.gather(*(worker(s) for s in stores)) for r in rs]
    for own in stores:
        await own.close()
    latencies = [t for t, _ in results]
    granted = sum(g for _, g in results) + 1
    print(
        f"{workers} workers racing, {messages} messages: budget check p50 "
        f"{percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f}"
        f" ms; granted {granted} of a budget of {budget}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with Azurite(services=("table",)) as azurite:
        asyncio.run(run(azurite.connection_string, args.messages, args.workers))


if __name__ == "__main__":
    main()

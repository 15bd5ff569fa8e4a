"""Burst coalescing: N changed users (an HR import) worked per user vs in one coalesced pass.

On the Graph emulator (a `--users` tenant, rules.sample.toml) and Azurite's tables, the same
`--changed` users get a new department, and their ids are queued as `notification` messages
of 200 (as the webhook queues them). Each mode starts from the same tenant:

- per user: every message through the real worker (`process_message`, msgraph-sdk client)
  with a quiet queue, so each reads its 200 users with their memberships;
- coalesced: the same messages with the backlog the queue would report (BURST_USERS is
  met): the first runs the tenant's pass, the rest are covered by it.

The tenant is converged first, so both modes have exactly the import's changes to write.
Reported per mode: Graph HTTP requests, Graph calls (a $batch item counts as one, as
throttling counts it) and the reads among them, memberships written, and wall time; and that
both modes end with the same memberships. Exits 1 if they differ, or if coalescing saves
less than 5x the Graph calls.

Usage: .venv/bin/python bench/bench_burst.py [--users 20000] [--changed 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import itertools
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devhost.azurite import Azurite  # noqa: E402
from graph_emulator import EmulatorServer  # noqa: E402
from reconciler.settings import Settings  # noqa: E402
from reconciler.work import message as work  # noqa: E402
from reconciler.work.worker import process_message  # noqa: E402

DEPARTMENTS = ["Sales", "Engineering", "Marketing", "Finance", "Support"]
_PREFIXES = itertools.count(1)


class BenchQueue:
    """The work queue as the worker sees it: rechecks are kept, not run; `backlog` is what
    storage would report while the burst's messages wait."""

    def __init__(self, backlog: int) -> None:
        self.waiting = backlog
        self.sent: list[str] = []

    async def send(self, text: str, *, delay_seconds: int = 0) -> None:
        self.sent.append(text)

    async def send_to_poison(self, text: str) -> None:
        raise RuntimeError(f"poisoned: {text[:200]}")

    async def backlog(self) -> int:
        return self.waiting


def changed_tenant(tenant: dict[str, Any], count: int, seed: int) -> tuple[dict, list[str]]:
    """The tenant after an HR import moved `count` users to another department."""
    after = copy.deepcopy(tenant)
    users = [u for u in after["users"] if u.get("userType") != "Guest"]
    chosen = random.Random(seed).sample(users, count)
    for user in chosen:
        user["department"] = random.Random(user["id"]).choice(
            [d for d in DEPARTMENTS if d != user.get("department")]
        )
    return after, [u["id"] for u in chosen]


def converged(graph: EmulatorServer, environ: dict[str, str]) -> dict[str, Any]:
    """The tenant after one full reconciliation: only the import's changes are left to do."""
    from reconciler.graph import open_directory
    from reconciler.policy import load_policy
    from reconciler.service import reconcile_all
    from reconciler.settings import rules_file

    async def run() -> None:
        settings = Settings.from_env(environ)
        async with open_directory(settings) as directory:
            await reconcile_all(directory, load_policy(rules_file()), settings)

    asyncio.run(run())
    return graph.export_tenant()


async def work_through(
    messages: list[str], settings: Settings, coalesce: bool
) -> tuple[float, list[str]]:
    started = time.perf_counter()
    kinds = []
    for remaining, text in zip(range(len(messages) - 1, -1, -1), messages, strict=True):
        queue = BenchQueue(backlog=remaining if coalesce else 0)
        outcome = await process_message(text, settings, queue)
        kinds.append(outcome.kind if outcome.detail != "covered by a burst pass" else "covered")
    return time.perf_counter() - started, kinds


def run_mode(
    graph: EmulatorServer, after: dict, ids: list[str], environ: dict[str, str], coalesce: bool
) -> dict[str, Any]:
    graph.load_tenant(after)
    graph.clear_requests()
    settings = Settings.from_env(
        {**environ, "STATE_TABLE_PREFIX": f"burst{os.getpid()}n{next(_PREFIXES)}"}
    )
    messages = [work.encode(m) for m in work.users_messages(ids, cause="notification")]
    seconds, kinds = asyncio.run(work_through(messages, settings, coalesce))
    counters = graph.counters()
    tenant = graph.export_tenant()
    return {
        "seconds": seconds,
        "http": counters["httpRequests"],
        "calls": counters["graphCalls"],
        "reads": sum(c["count"] for k, c in counters["byRoute"].items() if k.startswith("GET ")),
        "writes": sum(1 for w in graph.writes() if w["applied"]),
        "kinds": {k: kinds.count(k) for k in sorted(set(kinds))},
        "members": {g: sorted(m) for g, m in tenant["members"].items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--changed", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with Azurite(services=("table",)) as azurite, EmulatorServer(users=args.users, seed=3) as graph:
        os.environ["RULES_FILE"] = str(ROOT / "rules.sample.toml")
        environ = {
            "GRAPH_BASE_URL": graph.base_url,
            "GRAPH_CREDENTIAL": "static",
            "GRAPH_STATIC_TOKEN": "bench",
            "AzureWebJobsStorage": azurite.connection_string,
            "WRITE_RATE": "5000",  # writes are the same in both modes: keep them off the clock
            "MAX_REMOVAL_PERCENT": "100",  # no holds: both modes write the same changes
            "MAX_TENANT_REMOVALS_PER_WINDOW": "0",
        }
        before = converged(graph, environ)
        after, ids = changed_tenant(before, args.changed, args.seed)
        print(f"tenant {args.users:,} users, {args.changed:,} changed, messages of {work.MAX_IDS}")
        results = {}
        for name, coalesce in (("per user", False), ("coalesced", True)):
            result = results[name] = run_mode(graph, after, ids, environ, coalesce)
            print(
                f"{name:>10}: {result['http']:,} Graph HTTP requests, {result['calls']:,} Graph "
                f"calls ($batch items counted; {result['reads']:,} of them reads), "
                f"{result['writes']:,} memberships written, {result['seconds']:.1f} s; "
                f"messages {result['kinds']}"
            )
    per_user, coalesced = results["per user"], results["coalesced"]
    same = per_user["members"] == coalesced["members"]
    ratio = per_user["calls"] / max(1, coalesced["calls"])
    http_ratio = per_user["http"] / max(1, coalesced["http"])
    read_ratio = per_user["reads"] / max(1, coalesced["reads"])
    print(
        f"coalesced: {ratio:.1f}x fewer Graph calls ({read_ratio:.1f}x fewer reads), "
        f"{http_ratio:.1f}x fewer HTTP requests, "
        f"{per_user['seconds'] / coalesced['seconds']:.1f}x faster; same memberships: {same}"
    )
    return 0 if same and ratio >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())

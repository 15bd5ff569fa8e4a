"""Delta catch-up vs a full reconciliation after N user changes, on a 100,000-user tenant.

1. The emulator (`--users`, seeded as bench/bench_reconcile.py seeds it: `--groups` assigned
   groups with rules of the sample shapes, log-normal sizes) runs as a child process, Azurite's
   table service holds the delta link. One full reconciliation fills the groups, then the
   catch-up starts its delta link (`$deltatoken=latest`).
2. For each N in `--changes`: N users get another department (a property every rule shape
   may read), through Graph. Then, on the same state, in-process, with the real SDK client:
   - catch-up: one delta round from the saved link (reconciler/service/catchup.py) and the
     queued `users` messages run through the per-user path (reconcile_users, 200 ids each);
   - full: reconcile_all over every managed group.
   Both plan only (DRY_RUN): writes are the same either way and are counted, not sent. Then a
   real full run converges the groups for the next N.

Graph requests count each `$batch` item once (as Graph's throttling counts them), not the
envelope. The work queue is in memory here (one send per 200 ids on Azure Storage).

Usage: .venv/bin/python bench/bench_delta_catchup.py [--users 100000] [--groups 1000]
       [--changes 100,1000,10000] [--seed 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_reconcile import (  # noqa: E402
    HEADERS,
    choose_rules,
    create_groups,
    list_users,
    start_emulator,
    write_rules,
)
from devhost.azurite import Azurite  # noqa: E402
from reconciler.graph import open_directory  # noqa: E402
from reconciler.policy import Policy, load_policy  # noqa: E402
from reconciler.service import reconcile_all, reconcile_users  # noqa: E402
from reconciler.service.catchup import catch_up  # noqa: E402
from reconciler.service.options import RunOptions  # noqa: E402
from reconciler.service.outcome import Outcome  # noqa: E402
from reconciler.settings import Settings  # noqa: E402
from reconciler.state.delta_link import TableDeltaLinks  # noqa: E402
from reconciler.work import message as work  # noqa: E402


class MemoryQueue:
    def __init__(self) -> None:
        self.messages: list[work.UsersMessage] = []

    async def send(self, text: str, *, delay_seconds: int = 0) -> None:
        message = work.decode(text)
        assert isinstance(message, work.UsersMessage)
        self.messages.append(message)


def options(settings: Settings, dry_run: bool) -> RunOptions:
    """Both paths alike: no guard holds (a bench tenant's drift is no HR accident)."""
    return RunOptions.from_settings(settings, dry_run=dry_run, allow_mass_removal=True)


def requests(counts: dict[str, int]) -> int:
    return sum(n for kind, n in counts.items() if kind != "batch")


async def no_full_run(correlation_id: str) -> Outcome:
    raise AssertionError("the delta link was lost during the bench")


def change_departments(base: str, users: list[dict], count: int, rng: random.Random) -> None:
    departments = sorted({u["department"] for u in users if u.get("department")})
    chosen = rng.sample(users, count)
    with httpx.Client(headers=HEADERS, timeout=60) as http:
        for user in chosen:
            others = [d for d in departments if d != user.get("department")]
            department = rng.choice(others)
            answer = http.patch(f"{base}/users/{user['id']}", json={"department": department})
            answer.raise_for_status()
            user["department"] = department


async def catch_up_path(settings: Settings, policy: Policy, links: TableDeltaLinks) -> dict:
    queue = MemoryQueue()
    async with open_directory(settings) as directory:
        started = time.perf_counter()
        result = await catch_up(directory, links, queue, policy, no_full_run, reason="bench")
        delta_seconds = time.perf_counter() - started
        delta_requests = requests(directory.request_counts())
        changes = 0
        planning = options(settings, dry_run=True)
        for message in queue.messages:
            report = await reconcile_users(
                directory, policy, settings, message.user_ids, "catchup", options=planning
            )
            changes += sum(len(g.plan.adds) + len(g.plan.removes) for g in report.groups)
        wall = time.perf_counter() - started
        return {
            "users": result.users,
            "messages": len(queue.messages),
            "delta_requests": delta_requests,
            "delta_seconds": delta_seconds,
            "requests": requests(directory.request_counts()),
            "wall": wall,
            "changes": changes,
        }


async def full_path(settings: Settings, policy: Policy, *, dry_run: bool) -> dict:
    async with open_directory(settings) as directory:
        started = time.perf_counter()
        report = await reconcile_all(
            directory, policy, settings, options=options(settings, dry_run)
        )
        wall = time.perf_counter() - started
        changes = sum(len(g.plan.adds) + len(g.plan.removes) for g in report.groups)
        return {"requests": requests(directory.request_counts()), "wall": wall, "changes": changes}


async def measure(settings: Settings, policy: Policy, base: str, users: list[dict], args) -> None:
    rng = random.Random(args.seed)
    filled = await full_path(settings, policy, dry_run=False)
    print(f"groups filled by a full run: {filled['changes']:,} adds in {filled['wall']:.1f} s")
    links = TableDeltaLinks.from_settings(settings)
    try:
        async with open_directory(settings) as directory:
            first = await catch_up(directory, links, MemoryQueue(), policy, no_full_run, reason="x")
            assert first.kind == "started", first
            print(f"delta link started: {requests(directory.request_counts())} request(s)")
        print(
            "| changed users | catch-up: delta requests / pages time | catch-up total requests |"
            " catch-up wall | full run requests | full run wall | planned changes (both) |"
        )
        print("|---|---|---|---|---|---|---|")
        for count in (int(n) for n in args.changes.split(",")):
            change_departments(base, users, count, rng)
            caught = await catch_up_path(settings, policy, links)
            full = await full_path(settings, policy, dry_run=True)
            assert caught["users"] == count, caught
            print(
                f"| {count:,} | {caught['delta_requests']:,} / {caught['delta_seconds']:.2f} s "
                f"| {caught['requests']:,} | {caught['wall']:.1f} s | {full['requests']:,} "
                f"| {full['wall']:.1f} s | {caught['changes']:,} / {full['changes']:,} |"
            )
            await full_path(settings, policy, dry_run=False)  # converge for the next round
            async with open_directory(settings) as directory:  # and move the link past it
                await catch_up(directory, links, _Discard(), policy, no_full_run, reason="x")
    finally:
        await links.close()


class _Discard:
    async def send(self, text: str, *, delay_seconds: int = 0) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--changes", default="100,1000,10000")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    emulator, base = start_emulator(args.users, args.seed, "1000000/1")
    try:
        with (
            Azurite(services=("table",)) as azurite,
            httpx.Client(headers=HEADERS, timeout=120) as http,
            tempfile.TemporaryDirectory() as tmp,
        ):
            users = list_users(http, base)
            rules = choose_rules(users, args.groups, random.Random(args.seed))
            group_ids = create_groups(http, base, args.groups)
            rules_file = Path(tmp) / "rules.toml"
            write_rules(rules_file, group_ids, rules)
            settings = Settings.from_env(
                {
                    "GRAPH_BASE_URL": base,
                    "GRAPH_CREDENTIAL": "static",
                    "GRAPH_STATIC_TOKEN": "bench",
                    "WRITE_RATE": "20000",
                    "AzureWebJobsStorage": azurite.connection_string,
                    "STATE_TABLE_PREFIX": "benchdelta",
                }
            )
            print(f"tenant: {len(users):,} users, {len(rules):,} groups")
            asyncio.run(measure(settings, load_policy(rules_file), base, users, args))
    finally:
        emulator.terminate()
        emulator.wait()


if __name__ == "__main__":
    main()

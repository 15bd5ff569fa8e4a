"""Benchmark of the emulator's `/users/delta` at tenant scale: rounds, change bookkeeping, memory.

Runs `python -m graph_emulator` as a child process and measures, over HTTP:

1. the initial delta round with a 10-property $select at `Prefer: odata.maxpagesize=999`;
2. N user PATCHes (half to a selected property, half to an unselected one), sent with bounded
   concurrency, then the later round from the deltaLink (only the selected half comes back),
   and one more round with nothing changed;
3. the same PATCHes repeated on the same users, to show the change index stays bounded by the
   users that changed (`GET /_emulator/delta`), and the server's peak RSS.

Usage: .venv/bin/python bench/bench_emulator_delta.py [--users 100000] [--changes 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_emulator import SELECT, peak_rss_mib, stop
from graph_emulator.control_client import ControlClient
from graph_emulator.process import spawn

HEADERS = {"Authorization": "Bearer bench", "Prefer": "odata.maxpagesize=999"}


async def run_round(session: aiohttp.ClientSession, url: str) -> tuple[list[Any], int, str]:
    """Follow nextLinks to the deltaLink: (items, pages, deltaLink)."""
    items: list[Any] = []
    pages = 0
    while True:
        async with session.get(url) as response:
            response.raise_for_status()
            body = await response.json()
        items.extend(body["value"])
        pages += 1
        if "@odata.deltaLink" in body:
            return items, pages, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]


async def patch_users(
    session: aiohttp.ClientSession, base_url: str, ids: list[str], tag: str
) -> None:
    """Even positions change `department` (selected), odd ones `mobilePhone` (not selected)."""
    limit = asyncio.Semaphore(16)

    async def one(position: int, user_id: str) -> None:
        name = "department" if position % 2 == 0 else "mobilePhone"
        async with (
            limit,
            session.patch(
                f"{base_url}/users/{user_id}", json={name: f"{tag}-{position}"}
            ) as response,
        ):
            response.raise_for_status()

    await asyncio.gather(*(one(i, user_id) for i, user_id in enumerate(ids)))


async def measure(base_url: str, changes: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with aiohttp.ClientSession(headers=HEADERS) as session:
        started = time.perf_counter()
        users, pages, link = await run_round(session, f"{base_url}/users/delta?$select={SELECT}")
        figures["initial"] = (len(users), pages, time.perf_counter() - started)
        ids = sorted(user["id"] for user in users)[:changes]
        for attempt in ("first", "again"):
            started = time.perf_counter()
            await patch_users(session, base_url, ids, attempt)
            figures[f"patch {attempt}"] = time.perf_counter() - started
            started = time.perf_counter()
            changed, pages, link = await run_round(session, link)
            figures[f"later {attempt}"] = (len(changed), pages, time.perf_counter() - started)
        started = time.perf_counter()
        quiet, pages, _ = await run_round(session, link)
        figures["quiet"] = (len(quiet), pages, time.perf_counter() - started)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    process, base_url = spawn("--users", str(args.users), "--seed", str(args.seed))
    try:
        figures = asyncio.run(measure(base_url, args.changes))
        state = ControlClient(base_url).delta_state()
        rss = peak_rss_mib(process.pid)
    finally:
        stop(process)
    users, pages, seconds = figures["initial"]
    assert users == args.users, users
    print(f"users: {args.users:,} (seed {args.seed}), changes per pass: {args.changes:,}")
    print(f"initial round, 10-property $select: {seconds:6.2f} s, {pages} pages, {users:,} users")
    for attempt in ("first", "again"):
        count, pages, seconds = figures[f"later {attempt}"]
        print(
            f"{args.changes:,} PATCHes ({attempt}): {figures[f'patch {attempt}']:6.2f} s; "
            f"later round: {seconds:6.3f} s, {pages} pages, {count:,} users back"
        )
    count, pages, seconds = figures["quiet"]
    print(f"round with nothing changed: {seconds:6.3f} s, {pages} page, {count} users")
    print(
        f"change log: sequence {state['sequence']:,}, tracked users {state['trackedUsers']:,}, "
        f"index entries {state['indexEntries']:,}"
    )
    print(f"peak RSS: {rss:6.0f} MiB")


if __name__ == "__main__":
    main()

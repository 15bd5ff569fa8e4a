"""Benchmark of the Graph emulator at tenant scale: start-up, a full user listing, peak memory.

Runs `python -m graph_emulator` as a child process, so the figures are the server's own:

1. generation + load: from process start to the "listening" line, with a generated tenant
   (target < 30 s for 100,000 users); also the same for a tenant loaded from a JSON file;
2. listing every user over HTTP with a 10-property $select at $top=999, following
   @odata.nextLink (target < 10 s);
3. the server's peak RSS (VmHWM; target < 1 GB).

Usage: .venv/bin/python bench/bench_emulator.py [--users 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graph_emulator.process import spawn

SELECT = (
    "id,displayName,accountEnabled,userType,department,jobTitle,country,usageLocation,"
    "employeeHireDate,onPremisesExtensionAttributes"
)


def start(args: list[str]) -> tuple[subprocess.Popen[str], str, float]:
    started = time.perf_counter()
    process, base_url = spawn(*args)
    return process, base_url, time.perf_counter() - started


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def list_all_users(base_url: str) -> tuple[int, int, float]:
    headers = {"Authorization": "Bearer bench"}
    url: str | None = f"{base_url}/users?$select={SELECT}&$top=999"
    users = pages = 0
    started = time.perf_counter()
    async with aiohttp.ClientSession(headers=headers) as session:
        while url:
            async with session.get(url) as response:
                response.raise_for_status()
                body = await response.json()
            users += len(body["value"])
            pages += 1
            url = body.get("@odata.nextLink")
    return users, pages, time.perf_counter() - started


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    tenant = ["--users", str(args.users), "--seed", str(args.seed)]

    process, base_url, startup = start(tenant)
    try:
        users, pages, listing = asyncio.run(list_all_users(base_url))
        second_users, _, second_listing = asyncio.run(list_all_users(base_url))
        rss = peak_rss_mib(process.pid)
    finally:
        stop(process)
    assert users == second_users == args.users, (users, second_users)

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "tenant.json"
        subprocess.run(
            [sys.executable, "-m", "graph_emulator", *tenant, "--export", str(path)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        size_mib = path.stat().st_size / 2**20
        file_process, _, file_startup = start(["--tenant", str(path)])
        file_rss = peak_rss_mib(file_process.pid)
        stop(file_process)

    print(f"users: {args.users:,} (seed {args.seed})")
    print(f"generate + load + listen: {startup:6.2f} s   (target < 30 s)")
    print(f"load from JSON file ({size_mib:.0f} MiB) + listen: {file_startup:6.2f} s")
    print(
        f"list all users, 10-property $select, $top=999: {listing:6.2f} s over {pages} pages "
        f"(second run {second_listing:.2f} s)   (target < 10 s)"
    )
    print(f"peak RSS, generated tenant: {rss:6.0f} MiB   (target < 1024 MiB)")
    print(f"peak RSS, tenant from file: {file_rss:6.0f} MiB")


if __name__ == "__main__":
    main()

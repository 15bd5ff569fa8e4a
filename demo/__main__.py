"""Runs the reconciler against the built-in emulated tenant and narrates what happens.

Starts the Graph emulator (the sample tenant), then runs the real command line: `check`,
`plan`, `apply`, edits a few users through Graph, `sync-user` for them (what the queue
worker does when a notification arrives), and a last `apply` that has nothing left to do.
Every process it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SALES = "10000000-0000-4000-8000-000000000001"
TOKEN = "local-demo-token"


def headline(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


def reconciler(env: dict[str, str], *args: str, show: bool = True) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        check=False,
    )
    if show:
        print(result.stdout.rstrip())
    if result.returncode not in (0, 3):
        print(result.stderr.rstrip(), file=sys.stderr)
    return result.returncode, result.stdout


def start_emulator(users: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "graph_emulator",
            "--port",
            "0",
            "--users",
            str(users),
            "--seed",
            "7",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip()  # type: ignore[union-attr]
    prefix = "Graph emulator listening on "
    if not line.startswith(prefix):
        process.kill()
        raise SystemExit(f"the Graph emulator did not start: {line!r}")
    return process, line[len(prefix) :]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=3000, help="users in the emulated tenant")
    args = parser.parse_args()
    started = time.perf_counter()
    headline(f"Starting the Graph emulator with the sample tenant ({args.users:,} users)")
    emulator, base = start_emulator(args.users)
    print(f"Graph at {base}")
    env = {
        **os.environ,
        "GRAPH_BASE_URL": base,
        "GRAPH_CREDENTIAL": "static",
        "GRAPH_STATIC_TOKEN": TOKEN,
        "RULES_FILE": "rules.sample.toml",
        "WRITE_RATE": "200",
    }
    try:
        headline("check: validate rules.sample.toml and run every group's examples")
        reconciler(env, "check", "rules.sample.toml")
        headline("plan: what a full reconciliation would change, with reasons (nothing written)")
        reconciler(env, "plan")
        headline("apply: reconcile every group (adds 20 per request, removals in $batch)")
        tick = time.perf_counter()
        _, out = reconciler(env, "apply", "--json", show=False)
        summary = json.loads(out)["summary"]
        print(
            f"{summary['written']} memberships written in {time.perf_counter() - tick:.1f} s; "
            f"requests by kind: {summary['requests']}"
        )
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            users = http.get("/users?$select=id,displayName,department&$top=999").json()["value"]
            outsiders = [u for u in users if u.get("department") not in ("Sales", None)][:3]
            headline("Edit three users through Graph: they move to the Sales department")
            for user in outsiders:
                http.patch(f"/users/{user['id']}", json={"department": "Sales"})
                print(
                    f"PATCH /users/{user['id']}  {user['displayName']}: "
                    f"{user['department']} -> Sales"
                )
        headline("sync-user: re-read just those users and fix their memberships now")
        tick = time.perf_counter()
        reconciler(env, "sync-user", *(u["id"] for u in outsiders))
        print(
            f"(took {time.perf_counter() - tick:.2f} s, process start included; Entra's own "
            "dynamic groups take minutes to a day)"
        )
        headline("explain: why the first of them is in 'Sales - all' now")
        reconciler(env, "explain", "--group", SALES, "--user-id", outsiders[0]["id"])
        headline("apply again: nothing left to do")
        _, out = reconciler(env, "apply", "--json", show=False)
        print(f"{json.loads(out)['summary']['written']} writes")
    finally:
        emulator.terminate()
        emulator.wait()
    headline(f"Done in {time.perf_counter() - started:.1f} s; the emulator is stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

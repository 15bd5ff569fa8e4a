"""The whole local stack under user edits: Azurite, the Graph emulator, devhost + function_app.

1. Cold start: devhost is started as a child process; we measure from its start to the first
   webhook 202, and to the first queue message processed (a membership written).
2. A Graph subscription points at the webhook; `--edits` user edits go to the emulator at
   about `--rate` per second (each moves a user in or out of the Sales department). Latency is
   edit -> membership write, taken from the emulator's write log (Graph's own delivery delay
   is not in it: the emulator notifies at once).
3. Webhook response time: `--posts` genuine notifications timed at the client.

Usage: .venv/bin/python bench/bench_stack.py [--edits 200] [--rate 10] [--users 2000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devhost.azurite import Azurite, free_port  # noqa: E402
from graph_emulator import EmulatorServer  # noqa: E402
from harness.stack import notification as change_notification  # noqa: E402

SALES = "10000000-0000-4000-8000-000000000001"
CLIENT_STATE = "bench-client-state-0123456789"
TOKEN = {"Authorization": "Bearer bench"}


def notification(user_id: str) -> dict:
    return {"value": [change_notification(user_id, CLIENT_STATE)]}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def first_write_after(graph: EmulatorServer, user_id: str, since: float) -> float | None:
    times = [
        w["time"]
        for w in graph.writes()
        if w["memberId"] == user_id and w["time"] >= since and w["applied"]
    ]
    return min(times) if times else None


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    raise SystemExit("timed out")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=300)
    args = parser.parse_args()

    with (
        Azurite(services=("blob", "queue", "table")) as azurite,
        EmulatorServer(users=args.users, seed=9) as graph,
    ):
        port = free_port()
        base = f"http://127.0.0.1:{port}/api"
        env = {
            **os.environ,
            "AzureWebJobsStorage": azurite.connection_string,
            "GRAPH_BASE_URL": graph.base_url,
            "GRAPH_CREDENTIAL": "static",
            "GRAPH_STATIC_TOKEN": "bench",
            "CLIENT_STATE": CLIENT_STATE,
            "RULES_FILE": str(ROOT / "rules.sample.toml"),
            "NOTIFICATION_URL": f"{base}/notifications",
            "WRITE_RATE": "100",
            "RECHECK_DELAY_SECONDS": "60",
        }
        users = graph.export_tenant()["users"]
        sales = set(graph.export_tenant()["members"][SALES])
        drifted = next(
            u["id"]
            for u in users
            if u.get("department") == "Sales" and u.get("accountEnabled") and u["id"] not in sales
        )

        started = time.perf_counter()
        since = time.time()
        host = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devhost",
                "--port",
                str(port),
                "--settings",
                "local.settings.sample.json",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(timeout=10) as http:

                def accepted() -> bool:
                    try:
                        return (
                            http.post(
                                f"{base}/notifications", json=notification(drifted)
                            ).status_code
                            == 202
                        )
                    except httpx.TransportError:
                        return False

                wait_for(accepted, 60)
                first_202 = time.perf_counter() - started
                wait_for(lambda: first_write_after(graph, drifted, since), 60)
                first_message = time.perf_counter() - started
                print(
                    f"cold start: first webhook 202 after {first_202:.2f} s (target < 1 s); "
                    f"first queue message processed after {first_message:.2f} s"
                )

                expiry = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
                created = http.post(
                    f"{graph.base_url}/subscriptions",
                    headers=TOKEN,
                    json={
                        "changeType": "updated,deleted",
                        "notificationUrl": f"{base}/notifications",
                        "resource": "users",
                        "expirationDateTime": expiry,
                        "clientState": CLIENT_STATE,
                    },
                )
                assert created.status_code == 201, created.text

                candidates = [
                    u
                    for u in users
                    if u.get("accountEnabled")
                    and u["id"] != drifted
                    and u["id"] not in sales
                    and u.get("department") not in (None, "Sales")
                ][: args.edits]
                edits: list[tuple[str, float]] = []
                started_edits = time.perf_counter()
                for i, user in enumerate(candidates):
                    target = started_edits + i / args.rate
                    time.sleep(max(0.0, target - time.perf_counter()))
                    edits.append((user["id"], time.time()))
                    http.patch(
                        f"{graph.base_url}/users/{user['id']}",
                        headers=TOKEN,
                        json={"department": "Sales"},
                    )
                latencies = []
                for user_id, edited in edits:
                    written = wait_for(
                        lambda u=user_id, e=edited: first_write_after(graph, u, e), 60
                    )
                    latencies.append(written - edited)
                print(
                    f"{len(edits)} edits at {args.rate:g}/s, edit -> membership write: "
                    f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
                    f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
                    f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms (target p99 < 2 s)"
                )

                timings = []
                for user in users[: args.posts]:
                    tick = time.perf_counter()
                    answer = http.post(f"{base}/notifications", json=notification(user["id"]))
                    timings.append(time.perf_counter() - tick)
                    assert answer.status_code == 202
                handshakes = []
                for _ in range(args.posts):
                    tick = time.perf_counter()
                    http.post(f"{base}/notifications", params={"validationToken": "x y:z"})
                    handshakes.append(time.perf_counter() - tick)
                print(
                    f"webhook handshakes (no queue write): p50 "
                    f"{percentile(handshakes, 0.5) * 1000:.1f} ms, p99 "
                    f"{percentile(handshakes, 0.99) * 1000:.1f} ms"
                )
                print(
                    f"webhook, {len(timings)} notifications: p50 "
                    f"{percentile(timings, 0.5) * 1000:.1f} ms, p99 "
                    f"{percentile(timings, 0.99) * 1000:.1f} ms (target p99 < 50 ms)"
                )
        finally:
            host.terminate()
            host.wait()


if __name__ == "__main__":
    main()

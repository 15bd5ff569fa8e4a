"""Full-reconciliation benchmark on a large emulated tenant, through the real CLI.

1. Starts the Graph emulator (`--users N`, a write quota) as a child process and creates
   `--groups` empty assigned groups with rules drawn from the sample rule shapes, each chosen
   so that group sizes follow a log-normal (Zipf-like) curve with a median near 100.
2. Run A, from empty groups: `python -m reconciler apply --json` as a child process.
3. Drift: about 5 % of the memberships are changed behind the reconciler's back (half removed,
   as many wrong users added), with the quota lifted while the bench does it.
4. Run B, from drift: `apply` again.

For each run: wall time, the child's CPU time and peak RSS, Graph requests against the lower
bound (user pages + member pages + ceil(adds/20) per group + one per removal; each $batch
item counts as one request, as Graph's throttling counts it), and 429s received. Planning CPU
is measured separately: the same rules planned in-process over the same users, no I/O.

Usage: .venv/bin/python bench/bench_reconcile.py [--users 100000] [--groups 1000]
       [--write-rate 450] [--quota 2000/4] [--seed 5]
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph_emulator.control_client import ControlClient  # noqa: E402
from graph_emulator.process import spawn  # noqa: E402

HEADERS = {"Authorization": "Bearer bench"}
SELECT = "id,department,city,country,jobTitle,usageLocation,accountEnabled,userType"
SHAPES = (
    ("department", "city", '(user.department -eq "{0}") -and (user.city -eq "{1}")'),
    ("jobTitle", "country", '(user.jobTitle -eq "{0}") -and (user.country -eq "{1}")'),
    ("city", "jobTitle", '(user.city -eq "{0}") -and (user.jobTitle -eq "{1}")'),
    (
        "department",
        "usageLocation",
        '(user.department -eq "{0}") -and (user.usageLocation -in ["{1}"])',
    ),
)


def start_emulator(users: int, seed: int, quota: str) -> tuple[subprocess.Popen[str], str]:
    return spawn(
        "--users",
        str(users),
        "--seed",
        str(seed),
        "--write-quota",
        quota,
        "--batch-order",
        "request",
    )


def list_users(http: httpx.Client, base: str) -> list[dict]:
    users: list[dict] = []
    url: str | None = f"{base}/users?$select={SELECT}&$top=999"
    while url:
        body = http.get(url).json()
        users += body["value"]
        url = body.get("@odata.nextLink")
    return users


def choose_rules(users: list[dict], count: int, rng: random.Random) -> list[tuple[str, int]]:
    """Rules of the sample shapes whose match counts follow a log-normal around 100."""
    candidates: list[tuple[int, str]] = []
    for first, second, template in SHAPES:
        sizes = Counter(
            (u.get(first), u.get(second))
            for u in users
            if u.get(first) and u.get(second) and '"' not in u[first] + u[second]
        )
        candidates += [(n, template.format(a, b)) for (a, b), n in sizes.items()]
    candidates.sort()
    chosen: list[tuple[str, int]] = []
    for _ in range(count):
        target = min(max(rng.lognormvariate(math.log(100), 1.1), 1), 20000)
        i = min(bisect.bisect_left(candidates, (int(target), "")), len(candidates) - 1)
        size, text = candidates.pop(i)
        chosen.append((text, size))
    return chosen


def create_groups(http: httpx.Client, base: str, count: int) -> list[str]:
    def create(i: int) -> str:
        body = {
            "displayName": f"Bench group {i:04d}",
            "mailEnabled": False,
            "mailNickname": f"bench{i}",
            "securityEnabled": True,
            "groupTypes": [],
        }
        return http.post(f"{base}/groups", json=body).json()["id"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(create, range(count)))


def write_rules(path: Path, group_ids: list[str], rules: list[tuple[str, int]]) -> None:
    lines = []
    for i, (group_id, (text, _)) in enumerate(zip(group_ids, rules, strict=True)):
        lines += [
            "[[groups]]",
            f'id = "{group_id}"',
            f'name = "Bench group {i:04d}"',
            f"rule = '{text}'",
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")


def run_cli(rules: Path, base: str, write_rate: float) -> dict:
    env = {
        **os.environ,
        "GRAPH_BASE_URL": base,
        "GRAPH_CREDENTIAL": "static",
        "GRAPH_STATIC_TOKEN": "bench",
        "WRITE_RATE": str(write_rate),
        "RULES_FILE": str(rules),
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--rules", str(rules), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env=env,
        text=True,
    )
    out = process.stdout.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    report = json.loads(out)
    report["_bench"] = {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
        "exit": os.waitstatus_to_exitcode(status),
    }
    return report


def lower_bound(report: dict, users: int, members_before: dict[str, int]) -> int:
    bound = math.ceil(users / 999)
    for group in report["groups"]:
        bound += max(1, math.ceil(members_before.get(group["id"], 0) / 999))
        bound += math.ceil(len(group["adds"]) / 20) + len(group["removes"])
    return bound


def graph_requests(report: dict) -> int:
    # Each $batch item counts once (as Graph's throttling counts them); the envelope does not.
    kinds = report["summary"].get("requests", {})
    return sum(n for kind, n in kinds.items() if kind != "batch")


def throttled(control: ControlClient) -> int:
    return sum(
        count
        for route in control.counters()["byRoute"].values()
        for status, count in (route.get("statuses") or route.get("byStatus") or {}).items()
        if str(status) == "429"
    )


def drift(
    http: httpx.Client,
    base: str,
    control: ControlClient,
    group_ids: list[str],
    user_ids: list[str],
    share: float,
    rng: random.Random,
) -> dict[str, int]:
    """Remove share/2 of each group's members and add as many users who do not match."""
    control.update_settings(write_quota=None)
    sizes: dict[str, int] = {}
    requests: list[dict] = []
    for group_id in group_ids:
        members = [
            m["id"]
            for m in http.get(f"{base}/groups/{group_id}/members?$select=id&$top=999").json()[
                "value"
            ]
        ]
        k = round(len(members) * share / 2) if len(members) >= 2 / share else rng.random() < share
        gone = rng.sample(members, int(k))
        strangers = rng.sample(user_ids, int(k))
        requests += [
            {"method": "DELETE", "url": f"/groups/{group_id}/members/{u}/$ref"} for u in gone
        ]
        requests += [
            {
                "method": "POST",
                "url": f"/groups/{group_id}/members/$ref",
                "headers": {"Content-Type": "application/json"},
                "body": {"@odata.id": f"{base}/directoryObjects/{u}"},
            }
            for u in strangers
            if u not in members
        ]
        sizes[group_id] = len(members) - len(gone) + len(strangers)
    for i in range(0, len(requests), 20):
        chunk = [{**r, "id": str(n)} for n, r in enumerate(requests[i : i + 20])]
        http.post(f"{base}/$batch", json={"requests": chunk})
    return sizes


def planning_cpu(rules_file: Path, users: list[dict]) -> float:
    """CPU seconds to plan every group over every user, in-process and without I/O."""
    from datetime import UTC, datetime

    from reconciler.plan import Planner
    from reconciler.policy import load_policy
    from reconciler.rules import RuleSet

    policy = load_policy(rules_file)
    groups = list(policy.usable_groups)
    started = time.process_time()
    ruleset = RuleSet({g.id: g.rule for g in groups})
    planner = Planner(
        groups, ruleset, {}, listing_complete=True, member_of={}, now=datetime.now(UTC)
    )
    for user in users:
        planner.see(user)
    return time.process_time() - started


def show(name: str, report: dict, bound: int, throttles: int) -> None:
    b, s = report["_bench"], report["summary"]
    requests = graph_requests(report)
    adds = sum(len(g["adds"]) for g in report["groups"])
    removes = sum(len(g["removes"]) for g in report["groups"])
    print(
        f"{name}: exit {b['exit']}, {b['wall']:.1f} s wall, {b['cpu']:.1f} s CPU, "
        f"peak RSS {b['rss_mib']:.0f} MiB"
    )
    print(
        f"    {adds:,} adds, {removes:,} removes; Graph requests {requests:,} vs lower bound "
        f"{bound:,} = {requests / bound:.3f}x (target <= 1.05x); 429s received: {throttles}"
    )
    print(f"    requests by kind: {s.get('requests')}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--write-rate", type=float, default=450)
    parser.add_argument("--quota", default="2000/4", help="the emulator's write quota, W/S")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    emulator, base = start_emulator(args.users, args.seed, args.quota)
    control = ControlClient(base)
    try:
        with (
            httpx.Client(headers=HEADERS, timeout=120) as http,
            tempfile.TemporaryDirectory() as tmp,
        ):
            users = list_users(http, base)
            rules = choose_rules(users, args.groups, rng)
            group_ids = create_groups(http, base, args.groups)
            rules_file = Path(tmp) / "rules.toml"
            write_rules(rules_file, group_ids, rules)
            sizes = sorted(n for _, n in rules)
            print(
                f"tenant: {len(users):,} users, {len(rules):,} groups; rule sizes median "
                f"{sizes[len(sizes) // 2]}, max {sizes[-1]:,}, {sum(sizes):,} memberships"
            )
            print(
                f"planning CPU (in-process, no I/O): {planning_cpu(rules_file, users):.1f} s "
                f"(target <= 5 s, issue 14)"
            )

            before = throttled(control)
            report_a = run_cli(rules_file, base, args.write_rate)
            show(
                "A. from empty groups",
                report_a,
                lower_bound(report_a, args.users, {}),
                throttled(control) - before,
            )

            drifted = drift(http, base, control, group_ids, [u["id"] for u in users], 0.05, rng)
            window = args.quota.split("/")
            control.update_settings(
                write_quota=int(window[0]), write_quota_window_seconds=float(window[1])
            )
            before = throttled(control)
            report_b = run_cli(rules_file, base, args.write_rate)
            show(
                "B. from 5% drift",
                report_b,
                lower_bound(report_b, args.users, drifted),
                throttled(control) - before,
            )

            report_c = run_cli(rules_file, base, args.write_rate)
            writes = sum(len(g["adds"]) + len(g["removes"]) for g in report_c["groups"])
            print(f"C. a second apply right after: {writes} writes planned")
    finally:
        emulator.terminate()
        emulator.wait()


if __name__ == "__main__":
    main()

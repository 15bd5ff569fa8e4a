"""Rule tester benchmark: the console's "test a rule" over the 100,000-user bench tenant.

1. Starts the Graph emulator as bench/bench_reconcile.py does (`--users N --seed S`, the sample
   tenant's groups), and makes 'Sales - all' hold every Sales user (disabled ones too) plus
   `--strays` users from other departments, so the diff has people on both sides.
2. Posts the rule tester's form to the console's front door (reconciler/console/routes.py,
   in-process: principal and form token checked, rule parsed, every user listed page by page
   through the real Graph adapter over HTTP, the group's members read, the page rendered).
   Each rule runs `--repeat` times; the figure is the wall time of the whole answer, with the
   CPU seconds of the console and of the emulator beside it (the machine's load average is
   printed: other work on the two cores stretches wall time, not CPU time).

Target (issue 13): under 5 s for 100,000 users.

Usage: .venv/bin/python bench/bench_rule_tester.py [--users 100000] [--seed 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devhost.easy_auth import principal_header  # noqa: E402
from graph_emulator.control_client import ControlClient  # noqa: E402
from graph_emulator.process import spawn  # noqa: E402
from reconciler.console import csrf  # noqa: E402
from reconciler.console.routes import respond  # noqa: E402
from reconciler.console.web import ConsoleRequest  # noqa: E402

SALES = "10000000-0000-4000-8000-000000000001"
RULES = (
    ("indexable equality", '(user.department -eq "Sales") -and (user.accountEnabled -eq true)'),
    (
        "-match and -or across attributes",
        '(user.jobTitle -match "^(senior|lead)") -or (user.city -startsWith "San")',
    ),
)
CSRF_KEY = "bench-rule-tester-csrf-key-0123456789"
PRINCIPAL = principal_header("bench@contoso.com", ["Reconciler.Read"])


def seed_group(base: str, strays: int, seed: int) -> tuple[int, int]:
    """Sales users (all) and `strays` others as the group's members; returns (users, members)."""
    control = ControlClient(base, timeout=300)  # a 100k-user tenant document is large
    tenant = control.export_tenant()
    users = tenant["users"]
    sales = [u["id"] for u in users if (u.get("department") or "").lower() == "sales"]
    others = [u["id"] for u in users if (u.get("department") or "").lower() != "sales"]
    members = sales + random.Random(seed).sample(others, strays)
    tenant["members"][SALES] = members
    control.load_tenant(tenant)
    return len(users), len(members)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc), to tell work from waiting."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def post_tester(rule: str) -> tuple[float, str]:
    token = csrf.new_token(CSRF_KEY.encode(), "bench@contoso.com")
    body = urlencode({"rule": rule, "group": SALES, "csrf": token}).encode()
    request = ConsoleRequest(
        "POST",
        "http://127.0.0.1/api/console/tester",
        "tester",
        {
            "X-MS-CLIENT-PRINCIPAL": PRINCIPAL,
            "Cookie": f"{csrf.COOKIE}={token}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        {},
        body,
    )
    started = time.perf_counter()
    page = await respond(request)
    seconds = time.perf_counter() - started
    if page.status != 200:
        raise RuntimeError(f"the tester answered {page.status}: {str(page.body)[:500]}")
    return seconds, str(page.body)


def figure(html: str, element: str) -> str:
    found = re.search(rf'id="{element}">([\d,]+)<', html)
    return found.group(1) if found else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--strays", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    process, base = spawn("--users", str(args.users), "--seed", str(args.seed))
    try:
        users, members = seed_group(base, args.strays, args.seed)
        print(
            f"tenant: {users:,} users, 'Sales - all' with {members:,} members "
            f"(ready in {time.perf_counter() - started:.1f} s)"
        )
        os.environ.update(
            {
                "GRAPH_BASE_URL": base,
                "GRAPH_CREDENTIAL": "static",
                "GRAPH_STATIC_TOKEN": "bench",
                "RULES_FILE": str(ROOT / "rules.sample.toml"),
                "CONSOLE_CSRF_KEY": CSRF_KEY,
                "CONSOLE_TRUST_LOCAL_PRINCIPAL": "true",
            }
        )
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for name, rule in RULES:
            times, ours, graph = [], [], []
            for _ in range(args.repeat):
                cpu, emulator = time.process_time(), cpu_seconds(process.pid)
                seconds, html = asyncio.run(post_tester(rule))
                times.append(seconds)
                ours.append(time.process_time() - cpu)
                graph.append(cpu_seconds(process.pid) - emulator)
            print(
                f"{name}: {figure(html, 'matched')} of {users:,} match, would join "
                f"{figure(html, 'would-join')}, would leave {figure(html, 'would-leave')}; "
                f"wall min {min(times):.2f} s, median {statistics.median(times):.2f} s, "
                f"max {max(times):.2f} s over {len(times)} runs (target < 5 s); CPU median: "
                f"console {statistics.median(ours):.2f} s, "
                f"emulator {statistics.median(graph):.2f} s"
            )
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()

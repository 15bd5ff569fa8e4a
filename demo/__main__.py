"""The product on the built-in emulated tenant, start to finish, narrated.

Starts Azurite, the Graph emulator (the sample tenant) and devhost hosting function_app.py
with the sample rules. The `subscription_upkeep` timer creates the Graph subscription (its
validation handshake goes through devhost's webhook); the first full reconciliation runs;
then users are edited through Graph and each change is followed: notification -> webhook ->
queue -> worker -> membership, with the reason and the measured latency. Every process it
starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from devhost.azurite import Azurite, free_port
from graph_emulator.process import spawn

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "local-demo-token"
SALES = "10000000-0000-4000-8000-000000000001"
GROUP_NAMES = {
    "10000000-0000-4000-8000-000000000001": "Sales - all",
    "10000000-0000-4000-8000-000000000002": "Engineering - enabled members",
    "10000000-0000-4000-8000-000000000005": "EMEA staff",
}


def headline(text: str) -> None:
    bold = sys.stdout.isatty()
    print(f"\n\033[1m== {text}\033[0m" if bold else f"\n== {text}", flush=True)


def wait_for(what: str, predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise SystemExit(f"demo: timed out waiting for {what}")


class AuditLog:
    """The `change` records devhost prints (one JSON object per line) from its log file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def changes(self, user_id: str) -> list[dict]:
        found = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            start = line.find('{"event": "change"')
            if start >= 0 and user_id in line:
                record = json.loads(line[start:])
                if record.get("result") == "done":
                    found.append(record)
        return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=3000, help="users in the emulated tenant")
    args = parser.parse_args()
    started = time.perf_counter()
    processes: list[subprocess.Popen] = []
    logs = Path(tempfile.mkdtemp(prefix="demo-"))
    # Tables hold the removal budget and holds; blob because the combined script starts it anyway.
    with Azurite(services=("blob", "queue", "table")) as azurite:
        headline(f"Local stack: Azurite, the Graph emulator ({args.users:,} users), devhost")
        emulator, graph = spawn("--users", str(args.users), "--seed", "7")
        processes.append(emulator)
        port = free_port()
        api = f"http://127.0.0.1:{port}/api"
        env = {
            **os.environ,
            "AzureWebJobsStorage": azurite.connection_string,
            "GRAPH_BASE_URL": graph,
            "GRAPH_CREDENTIAL": "static",
            "GRAPH_STATIC_TOKEN": TOKEN,
            "CLIENT_STATE": secrets.token_urlsafe(32),
            "RULES_FILE": "rules.sample.toml",
            "NOTIFICATION_URL": f"{api}/notifications",
            "LIFECYCLE_NOTIFICATION_URL": f"{api}/lifecycle",
            "FULL_RECONCILE_SCHEDULE": "0 0 3 * * *",
            "DELTA_CATCHUP_SCHEDULE": "0 */5 * * * *",
            "WRITE_RATE": "200",
        }
        # devhost reads the sample settings as a user's local.settings.json; the environment
        # above wins, as with Core Tools.
        log_file = logs / "devhost.log"
        with log_file.open("w") as sink:
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
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        processes.append(host)
        audit = AuditLog(log_file)
        try:
            return run(graph, api, audit, env, log_file, started)
        finally:
            for process in reversed(processes):
                process.terminate()
                process.wait()
            headline(
                f"Done in {time.perf_counter() - started:.1f} s; every process is stopped "
                f"(devhost's log: {log_file})"
            )


def run(graph: str, api: str, audit: AuditLog, env: dict, log_file: Path, started: float) -> int:
    print(f"Graph   {graph}\nwebhook {api}/notifications\nAzurite queue 'user-changes'")
    http = httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)

    headline("subscription_upkeep (runs at start): create the Graph subscription")
    subscription = wait_for(
        "the subscription",
        lambda: http.get(f"{graph}/subscriptions").json()["value"],
    )[0]
    print(
        f"subscription {subscription['id']} on '{subscription['resource']}' "
        f"({subscription['changeType']}) -> {subscription['notificationUrl']}, "
        f"expires {subscription['expirationDateTime']}; the validation handshake went "
        "through the webhook"
    )

    headline("First full reconciliation (the full_reconcile job, through the CLI)")
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    document = json.loads(result.stdout)
    summary, totals = document["summary"], document["totals"]
    print(
        f"{summary['groups']} groups: {summary['written']} memberships written "
        f"({totals['adds']} adds, {totals['removes']} removes) in "
        f"{summary['durationSeconds']:.1f} s; {totals['pausedGroups']} paused group: "
        f"{totals['pausedChanges']} changes planned, not written"
    )

    headline("Edit users through Graph and follow each change")
    users = http.get(
        f"{graph}/users?$select=id,displayName,department,accountEnabled&$top=999"
    ).json()["value"]
    sales = {m["id"] for m in http.get(f"{graph}/groups/{SALES}/members?$top=999").json()["value"]}
    movers = [
        u
        for u in users
        if u.get("department") not in ("Sales", None)
        and u.get("accountEnabled")
        and u["id"] not in sales
    ][:4]
    leaver = next(u for u in users if u["id"] in sales and u.get("department") == "Sales")
    edits = [(u, {"department": "Sales"}, f"department {u['department']} -> Sales") for u in movers]
    edits.append((leaver, {"accountEnabled": False}, "account disabled"))
    latencies = []
    for user, change, description in edits:
        before = len(audit.changes(user["id"]))
        tick = time.perf_counter()
        http.patch(f"{graph}/users/{user['id']}", json=change)
        records = wait_for(
            f"{user['displayName']}'s change",
            lambda u=user, b=before: audit.changes(u["id"])[b:],
            timeout=15,
        )
        latency = time.perf_counter() - tick
        latencies.append(latency)
        print(f"\n{user['displayName']}: {description}  (PATCH /users/{user['id'][:8]}…)")
        for record in records:
            verb = "added to" if record["action"] == "add" else "removed from"
            group = GROUP_NAMES.get(record["group"], record["group"])
            print(f"  notification -> queue -> {verb} '{group}' in {latency * 1000:.0f} ms")
            print(f"    reason: {record['reason']}")

    headline("Summary")
    ordered = sorted(latencies)
    print(
        f"{len(edits)} edits followed: edit -> membership in {ordered[0] * 1000:.0f} to "
        f"{ordered[-1] * 1000:.0f} ms (median {ordered[len(ordered) // 2] * 1000:.0f} ms); "
        "Entra's own dynamic groups take minutes to a day."
    )
    print(
        f"Total run {time.perf_counter() - started:.1f} s. Try it yourself: "
        "python -m graph_emulator, python -m devhost, python -m reconciler --help"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Seeded fault scenarios over the whole local stack (Azurite, Graph emulator, devhost).

One scenario, for seed S: reset the emulator, create the change-notification subscription,
install a random fault plan (429 storms with Retry-After, 500/503/504, disconnects in paged
listings and on $batch, latency, dropped/duplicated/reordered/delayed notifications), make random
user edits through Graph while the worker runs (department, accountEnabled, userType, creations,
deletions, manager changes), stop the faults, let the queue drain, run one full reconciliation
with the production CLI (`python -m reconciler apply`), then check:

- convergence: every managed, unpaused group equals an oracle computed here from the emulator's
  final tenant export (Rule.matches on each user + include - exclude); a paused group gets no
  writes at all;
- no removal on partial data: every applied removal in the emulator's write log is justified by
  a real state of that user: the attributes recorded at write time, or an earlier state of the
  user (the scenario knows every state it made, and the write-log sequence number at which each
  began) that did not satisfy the rule. A removal of a user whose every state so far matched can
  only come from partial data (a truncated listing, a failed read taken for "no members").

`run_scenario` is used by tests/reliability/test_faults.py (a few seeds) and by
bench/bench_faults.py (many seeds, figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from devhost.azurite import Azurite
from devhost.process import DevHostProcess
from graph_emulator import EmulatorServer
from harness.process_faults import ProcessFaults
from harness.stack import (
    CLIENT_STATE,
    ROOT,
    Stack,
    exported,
    running_stack,
    stack_settings,
)
from reconciler.plan.budget import TENANT, BudgetWindow
from reconciler.policy import load_policy
from reconciler.settings import Settings
from reconciler.state.tables import open_state

TOKEN = {"Authorization": "Bearer e2e"}
CEO = "20000000-0000-4000-8000-000000000001"
SALES = "10000000-0000-4000-8000-000000000001"
ENGINEERING = "10000000-0000-4000-8000-000000000002"
GUESTS = "10000000-0000-4000-8000-000000000003"
CEO_REPORTS = "10000000-0000-4000-8000-000000000009"
ALL_USERS = "10000000-0000-4000-8000-000000000011"
DEPARTMENTS = ["Sales", "Engineering", "Marketing", "Finance", None]
QUEUE = "user-changes-faults"
LOSSLESS_KINDS = ("latency", "duplicate", "reorder", "delay")
NEVER = "0 0 0 1 1 *"  # a timer schedule (1 January) out of any scenario's reach
LEASE_SECONDS = 3  # how soon a killed worker's messages reappear (the host's lease is 10 min)

# Short retries and a 1 s recheck keep a scenario in seconds (configuration, not a mock).
SETTINGS = {
    "RECHECK_DELAY_SECONDS": "1",
    "GRAPH_RETRY_ATTEMPTS": "3",
    "GRAPH_RETRY_BASE_SECONDS": "0.01",
    "GRAPH_RETRY_MAX_SECONDS": "0.05",
    "WRITE_RATE": "500",
}


def rules_text(exclude: str) -> str:
    """The scenario's rules: the attributes the edits change, a manager rule, include/exclude,
    a paused group; no mass-removal hold (the scenario checks every removal itself)."""
    return f"""
[[groups]]
id = "{SALES}"
name = "Sales - enabled"
rule = '(user.department -eq "Sales") -and (user.accountEnabled -eq true)'
include = ["{CEO}"]
max_removal_percent = 100

[[groups]]
id = "{ENGINEERING}"
name = "Engineering"
rule = 'user.department -eq "Engineering"'
exclude = ["{exclude}"]
max_removal_percent = 100

[[groups]]
id = "{GUESTS}"
name = "Guests"
rule = '(user.userType -eq "Guest") -and (user.accountEnabled -eq true)'
max_removal_percent = 100

[[groups]]
id = "{CEO_REPORTS}"
name = "Direct reports of the CEO"
rule = 'Direct Reports for "{CEO}"'
max_removal_percent = 100

[[groups]]
id = "{ALL_USERS}"
name = "All users (paused)"
rule = 'user.objectId -ne null'
paused = true
"""


@dataclass
class Figures:
    """What one or many scenarios did and found. `wrong`, `lost`, `partial_removals`,
    `paused_writes` and `unbudgeted_removals` must stay 0."""

    scenarios: int = 0
    edits: int = 0
    faults_injected: int = 0
    faults_by_kind: dict[str, int] = field(default_factory=dict)
    writes: int = 0
    removals_checked: int = 0
    stale_removals: int = 0  # justified by an earlier real state, repaired by recheck/sweep
    off_before_sweep: int = 0  # memberships still off when the queue drained (lost notifications)
    wrong: int = 0
    lost: int = 0
    partial_removals: int = 0
    paused_writes: int = 0  # writes to a paused group or to a group not in the rules
    unbudgeted_removals: int = 0  # removals written beyond the budget the tables recorded
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def add(self, other: Figures) -> None:
        for name in (
            "scenarios",
            "edits",
            "faults_injected",
            "writes",
            "removals_checked",
            "stale_removals",
            "off_before_sweep",
            "wrong",
            "lost",
            "partial_removals",
            "paused_writes",
            "unbudgeted_removals",
            "seconds",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for kind, count in other.faults_by_kind.items():
            self.faults_by_kind[kind] = self.faults_by_kind.get(kind, 0) + count
        self.problems += other.problems

    @property
    def ok(self) -> bool:
        return not (
            self.wrong
            or self.lost
            or self.partial_removals
            or self.paused_writes
            or self.unbudgeted_removals
        )

    def line(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.faults_by_kind.items()))
        return (
            f"scenarios {self.scenarios}, edits {self.edits}, faults injected "
            f"{self.faults_injected} ({kinds}), writes {self.writes}, removals checked "
            f"{self.removals_checked} (stale but real {self.stale_removals}), off before the "
            f"sweep {self.off_before_sweep}, wrong "
            f"{self.wrong}, lost {self.lost}, removals on partial data "
            f"{self.partial_removals}, writes to paused/unmanaged groups {self.paused_writes}, "
            f"removals beyond the recorded budget {self.unbudgeted_removals}, "
            f"{self.seconds:.1f} s"
        )


@contextmanager
def fault_stack(
    connection: str, overrides: dict[str, str] | None = None
) -> Iterator[tuple[Stack, Path]]:
    """The e2e stack on its own queue, with the scenario's rules file."""
    settings = {**SETTINGS, **(overrides or {})}
    with (
        running_stack(connection, queue=QUEUE, overrides=settings) as stack,
        scenario_rules(stack.graph) as rules,
    ):
        os.environ["RULES_FILE"] = str(rules)  # restored by running_stack
        yield stack, rules


@contextmanager
def process_fault_stack(overrides: dict[str, str] | None = None) -> Iterator[tuple[Stack, Path]]:
    """A stack the scenario can hurt: its own Azurite kept on disk (stopped and restarted with
    its queues intact), the emulator, and devhost as a child process (killed and restarted on
    the same port) with a short queue lease and the production maxDequeueCount. The full
    reconciliation timer is out of reach: rechecks and retries alone must recover."""
    with (
        tempfile.TemporaryDirectory(prefix="azurite-faults-") as data,
        Azurite(services=("blob", "queue"), location=Path(data) / "queues") as azurite,
        Azurite(services=("table",), location=Path(data) / "tables") as tables,
        EmulatorServer(users=200, seed=21) as graph,
        scenario_rules(graph) as rules,
    ):
        connection = f"{azurite.connection_string}TableEndpoint={tables.endpoint('table')};"
        worker = DevHostProcess(
            host_json=Path(__file__).with_name("fault_host.json"),
            env={},
            lease_seconds=LEASE_SECONDS,
        )
        settings = {
            **stack_settings(connection, graph, QUEUE),
            **SETTINGS,
            "RULES_FILE": str(rules),
            "FULL_RECONCILE_SCHEDULE": NEVER,
            "NOTIFICATION_URL": worker.url("notifications"),
            "LIFECYCLE_NOTIFICATION_URL": worker.url("lifecycle"),
            **(overrides or {}),
        }
        with exported(settings):
            worker.env = dict(os.environ)
            with worker:
                yield Stack(graph, worker, connection, QUEUE, azurite, tables), rules


@contextmanager
def scenario_rules(graph: EmulatorServer) -> Iterator[Path]:
    """The scenario's rules file; Engineering excludes one of the tenant's engineers."""
    tenant = graph.export_tenant()
    exclude = next(u["id"] for u in tenant["users"] if u.get("department") == "Engineering")
    rules = Path(os.environ.get("TMPDIR", "/tmp")) / f"fault-rules-{os.getpid()}.toml"
    rules.write_text(rules_text(exclude))
    try:
        yield rules
    finally:
        rules.unlink(missing_ok=True)


# --- the fault plan --------------------------------------------------------------------------


def fault_plan(rng: random.Random, lossless: bool = False) -> list[dict[str, Any]]:
    """A random subset of fault rules, each firing with a seeded probability. Only the calls
    the product makes are targeted (GET listings and reads, $batch, group member writes); the
    scenario's own edits (PATCH/POST/DELETE /users, manager $ref) are not.

    `lossless` keeps only faults that slow, repeat or reorder work (latency, duplicated,
    reordered and delayed notifications): nothing may then be lost even before the sweep."""

    def p() -> dict[str, Any]:
        return {"probability": round(rng.uniform(0.05, 0.3), 2), "seed": rng.randrange(10**6)}

    catalogue = [
        {
            "kind": "status",
            "status": 429,
            "retryAfter": "0.05",
            "method": "GET",
            "route": "/users*",
        },
        {
            "kind": "status",
            "status": 429,
            "retryAfter": "0.1",
            "method": "POST",
            "route": "/$batch",
        },
        {
            "kind": "status",
            "status": 429,
            "retryAfter": "0.05",
            "method": "*",
            "route": "/groups/*",
        },
        {"kind": "status", "status": 500, "method": "*", "route": "/groups/*"},
        {"kind": "status", "status": 503, "method": "GET", "route": "/users*"},
        {"kind": "status", "status": 504, "method": "POST", "route": "/$batch"},
        {"kind": "status", "status": 503, "method": "*", "route": "*", "scope": "batch"},
        {"kind": "disconnect", "method": "GET", "route": "/users*", "pagesOnly": True},
        {"kind": "disconnect", "method": "GET", "route": "/groups/*", "pagesOnly": True},
        {"kind": "disconnect", "method": "POST", "route": "/$batch"},
        {"kind": "latency", "latencyMs": 200, "method": "GET", "route": "*"},
        # Graph slower than 3 s (twice at most: each costs the scenario that long)
        {"kind": "latency", "latencyMs": 3200, "method": "GET", "route": "*", "times": 2},
        {"kind": "drop", "route": "*"},
        {"kind": "duplicate", "route": "*"},
        {"kind": "reorder", "route": "*"},
        {"kind": "delay", "latencyMs": 400, "route": "*"},
    ]
    if lossless:
        catalogue = [r for r in catalogue if r["kind"] in LOSSLESS_KINDS]
    chosen = rng.sample(catalogue, rng.randint(min(5, len(catalogue) - 1), min(9, len(catalogue))))
    return [{**rule, **p()} for rule in chosen]


# --- edits -----------------------------------------------------------------------------------


class Edits:
    """Random edits through Graph; remembers every state it made with the write-log sequence
    number current when it began."""

    def __init__(self, stack: Stack, rng: random.Random, protected: set[str]) -> None:
        self.stack = stack
        self.rng = rng
        self.protected = protected
        self.http = httpx.Client(base_url=stack.graph.base_url, headers=TOKEN, timeout=30)
        tenant = stack.graph.export_tenant()
        self.users: dict[str, dict[str, Any]] = {u["id"]: u for u in tenant["users"]}
        self.managers: dict[str, str] = dict(tenant["managers"])
        # user id -> [(seq when the state began, state or None when deleted)]
        self.history: dict[str, list[tuple[int, dict[str, Any] | None]]] = {
            uid: [(0, self.state(uid))] for uid in self.users
        }
        # Users an edit changed directly, so Graph notifies them; the reports of a deleted
        # manager lose their manager without a notification of their own.
        self.notified: set[str] = set()
        self.seq = 0
        self.count = 0

    def state(self, user_id: str) -> dict[str, Any] | None:
        user = self.users.get(user_id)
        if user is None:
            return None
        manager = self.managers.get(user_id)
        return {**user, "manager": {"id": manager} if manager else None}

    def _record(self, edited: str, *side_effects: str) -> None:
        """Called once an edit has returned: writes logged after the sequence number read here
        certainly saw this state or a later one (strict: a write racing the edit does not
        count as having seen it)."""
        self._latest_seq()
        self.notified.add(edited)
        for uid in (edited, *side_effects):
            self.history.setdefault(uid, []).append((self.seq, self.state(uid)))

    def _latest_seq(self) -> int:
        new = self.stack.graph.writes(since=self.seq)
        if new:
            self.seq = max(self.seq, max(w["seq"] for w in new))
        return self.seq

    def one(self) -> None:
        rng = self.rng
        live = [u for u in self.users if u not in self.protected]
        uid = rng.choice(live)
        kind = rng.choices(
            ["department", "enabled", "userType", "create", "delete", "manager"],
            weights=[5, 2, 2, 1, 1, 2],
        )[0]
        if kind == "department":
            self._patch(uid, department=rng.choice(DEPARTMENTS))
            if rng.random() < 0.3:  # a quick A -> B -> A
                first = self.users[uid].get("department")
                self._patch(uid, department=rng.choice(DEPARTMENTS))
                self._patch(uid, department=first)
        elif kind == "enabled":
            self._patch(uid, accountEnabled=not self.users[uid].get("accountEnabled"))
        elif kind == "userType":
            current = self.users[uid].get("userType")
            self._patch(uid, userType="Guest" if current != "Guest" else "Member")
        elif kind == "create":
            self._create()
        elif kind == "delete":
            self._delete(uid)
        else:
            self._manager(uid, rng.choice([CEO, CEO, None, rng.choice(live)]))
        self.count += 1

    def close(self) -> None:
        """The edits are over; the states they made stay readable."""
        self.http.close()

    def patch(self, uid: str, **changes: Any) -> None:
        """One PATCH /users/{id}, recorded like the random edits."""
        self._patch(uid, **changes)

    def _patch(self, uid: str, **changes: Any) -> None:
        self.http.patch(f"/users/{uid}", json=changes).raise_for_status()
        self.users[uid] = {**self.users[uid], **changes}
        self._record(uid)

    def _create(self) -> None:
        nick = f"fault{uuid.uuid4().hex[:10]}"
        body = {
            "accountEnabled": self.rng.random() < 0.8,
            "displayName": nick,
            "mailNickname": nick,
            "userPrincipalName": f"{nick}@fabrikam.example",
            "passwordProfile": {"password": "x-Y-z-123456!", "forceChangePasswordNextSignIn": True},
            "department": self.rng.choice(DEPARTMENTS),
            "userType": self.rng.choice(["Member", "Member", "Guest"]),
        }
        body = {k: v for k, v in body.items() if v is not None}
        answer = self.http.post("/users", json=body)
        answer.raise_for_status()
        created = answer.json()
        self.users[created["id"]] = {**body, "id": created["id"]}
        self.history[created["id"]] = [(0, None)]  # it did not exist before
        self._record(created["id"])

    def _delete(self, uid: str) -> None:
        self.http.delete(f"/users/{uid}").raise_for_status()
        self.users.pop(uid)
        reports = [r for r, m in self.managers.items() if m == uid]
        self.managers.pop(uid, None)
        for report in reports:
            self.managers.pop(report, None)
        self._record(uid, *reports)

    def _manager(self, uid: str, manager: str | None) -> None:
        if manager == uid or (manager is not None and manager not in self.users):
            manager = None
        if manager is None:
            answer = self.http.delete(f"/users/{uid}/manager/$ref")
            if answer.status_code == 404:  # had none
                return
            answer.raise_for_status()
            self.managers.pop(uid, None)
        else:
            ref = {"@odata.id": f"{self.stack.graph.base_url}/users/{manager}"}
            self.http.put(f"/users/{uid}/manager/$ref", json=ref).raise_for_status()
            self.managers[uid] = manager
        self._record(uid)


# --- waiting and the final reconciliation ----------------------------------------------------


def queue_count(stack: Stack) -> int:
    with QueueClient.from_connection_string(stack.connection, stack.queue) as client:
        try:
            return client.get_queue_properties().approximate_message_count
        except ResourceNotFoundError:  # not created yet: nothing was ever enqueued
            return 0


def wait_quiet(stack: Stack, timeout: float = 60.0) -> None:
    """Notifications delivered and the queue (rechecks included) empty twice in a row."""
    stack.graph.wait_for_notifications(timeout=timeout)
    deadline = time.monotonic() + timeout
    empty = 0
    while empty < 2:
        empty = empty + 1 if queue_count(stack) == 0 else 0
        if time.monotonic() > deadline:
            raise AssertionError(f"the queue did not drain in {timeout} s")
        time.sleep(0.1)


APPLY_TIMEOUT = 120.0  # a hang detector: apply takes about a second (three at load 7)


def full_reconciliation(rules: Path, graph: EmulatorServer) -> dict[str, Any]:
    """`python -m reconciler apply` through the production Graph adapter.

    Past APPLY_TIMEOUT the child gets SIGABRT, so faulthandler prints where each of its threads
    was, and the failure says whether the emulator still answers and how long the machine
    stalled on memory meanwhile: a VM near out-of-memory stalls every process (once, a runaway
    fuzz input did), which is not a hang in the product.
    """
    started = time.time()
    stalled = memory_stall_seconds()
    command = ["-X", "faulthandler", "-m", "reconciler", "apply", "--rules", str(rules), "--json"]
    child = subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = child.communicate(timeout=APPLY_TIMEOUT)
    except subprocess.TimeoutExpired:
        context = hang_context(started, stalled, graph)
        child.send_signal(signal.SIGABRT)  # faulthandler dumps every thread's stack, then exits
        try:
            out, err = child.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = child.communicate()
        raise AssertionError(
            f"apply hung for {APPLY_TIMEOUT:g} s ({context}); its stderr ended: {err[-6000:]}"
        ) from None
    if child.returncode != 0:
        raise AssertionError(f"apply exited {child.returncode}: {err[-2000:]}")
    return json.loads(out)


def memory_stall_seconds() -> float | None:
    """Seconds in which every non-idle task waited for memory since boot (Linux pressure stall
    information); None where the kernel does not report it."""
    try:
        for line in Path("/proc/pressure/memory").read_text().splitlines():
            if line.startswith("full "):
                return int(line.rsplit("total=", 1)[1]) / 1e6
    except (OSError, ValueError, IndexError):
        pass
    return None


def hang_context(started: float, stalled_before: float | None, graph: EmulatorServer) -> str:
    """When it started, the machine's load and memory stall since, whether the emulator answers:
    enough to tell a machine-wide stall from a hang in the product."""
    parts = [f"started {time.strftime('%H:%M:%S', time.gmtime(started))} UTC"]
    with contextlib.suppress(OSError):
        parts.append("load " + " ".join(Path("/proc/loadavg").read_text().split()[:3]))
    stalled = memory_stall_seconds()
    if stalled is not None and stalled_before is not None:
        parts.append(f"machine stalled on memory {stalled - stalled_before:.1f} s meanwhile")
    probe = time.monotonic()
    try:
        httpx.get(f"{graph.root_url}/_emulator/", timeout=5).raise_for_status()
        parts.append(f"emulator answered in {time.monotonic() - probe:.2f} s")
    except httpx.HTTPError as error:
        parts.append(f"emulator did not answer: {type(error).__name__}")
    return ", ".join(parts)


def create_subscription(stack: Stack) -> None:
    answer = httpx.post(
        f"{stack.graph.base_url}/subscriptions",
        headers=TOKEN,
        json={
            "changeType": "updated,deleted",
            "notificationUrl": stack.host.url("notifications"),
            # As the product creates it: a restarted worker's upkeep keeps it, not replaces it.
            "lifecycleNotificationUrl": stack.host.url("lifecycle"),
            "resource": "users",
            "expirationDateTime": time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400)
            ),
            "clientState": CLIENT_STATE,
        },
        timeout=30,
    )
    if answer.status_code != 201:
        raise AssertionError(f"subscription: {answer.status_code} {answer.text}")


# --- the checks ------------------------------------------------------------------------------


def oracle(rules: Path, tenant: dict[str, Any]) -> dict[str, set[str]]:
    """The members each unpaused managed group must have, from the export alone."""
    policy = load_policy(rules)
    users = {u["id"]: u for u in tenant["users"]}
    managers = tenant["managers"]
    expected: dict[str, set[str]] = {}
    for group in policy.groups:
        assert group.ok and group.rule is not None, group.problems
        if group.paused:
            continue
        matching = set()
        for uid, user in users.items():
            manager = managers.get(uid)
            subject = {**user, "manager": {"id": manager} if manager else None}
            if group.rule.matches(subject):
                matching.add(uid)
        expected[group.id] = (matching | (group.include & users.keys())) - group.exclude
    return expected


def check(
    rules: Path, tenant: dict[str, Any], writes: list[dict[str, Any]], edits: Edits
) -> Figures:
    figures = Figures()
    user_ids = {u["id"] for u in tenant["users"]}
    for group_id, want in oracle(rules, tenant).items():
        have = set(tenant["members"].get(group_id, ())) & user_ids  # devices are not ours
        wrong, lost = have - want, want - have
        figures.wrong += len(wrong)
        figures.lost += len(lost)
        if wrong or lost:
            figures.problems.append(f"{group_id}: wrong {sorted(wrong)} lost {sorted(lost)}")
    policy = load_policy(rules)
    applied = [w for w in writes if w["applied"]]
    figures.writes = len(applied)
    for write in applied:
        group = policy.group(write["groupId"])
        if group is None or group.paused:
            figures.paused_writes += 1
            figures.problems.append(f"write to a paused or unmanaged group: {write}")
            continue
        if write["action"] != "remove":
            continue
        figures.removals_checked += 1
        uid = write["memberId"]
        if uid in group.exclude:
            continue
        if uid in group.include:
            figures.partial_removals += 1
            figures.problems.append(f"removed an included user: {write}")
            continue
        then = write.get("user")
        subject = None
        if then is not None:
            manager = then.get("managerId")
            subject = {**then, "manager": {"id": manager} if manager else None}
        if subject is None or not group.rule.matches(subject):
            continue  # the truth at that moment
        earlier = [s for seq, s in edits.history.get(uid, []) if seq < write["seq"]]
        if any(s is None or not group.rule.matches(s) for s in earlier):
            figures.stale_removals += 1  # a real, superseded state; the recheck repairs it
            continue
        figures.partial_removals += 1
        figures.problems.append(f"removal on partial data: {write}")
    return figures


def removals_spent() -> int:
    """The removals the tenant-wide budget window holds (every removal spends from it before
    it is written), read through the product's own state store with the exported settings."""

    async def read() -> int:
        async with open_state(Settings.from_env()) as state:
            snapshot = await state.read_budget([])
        return snapshot.windows.get(TENANT, BudgetWindow()).used

    return asyncio.run(read())


def off_for_edited_users(rules: Path, tenant: dict[str, Any], edits: Edits) -> int:
    """Memberships of the users the scenario edited (and Graph notified) that the incremental
    path (webhook, queue, recheck) left off: from lost notifications, repaired by the sweep."""
    edited = edits.notified
    off = 0
    for group_id, want in oracle(rules, tenant).items():
        have = set(tenant["members"].get(group_id, ()))
        off += len((want ^ have) & edited)
    return off


# --- one scenario ----------------------------------------------------------------------------


def run_scenario(
    stack: Stack, rules: Path, seed: int, edits: int = 25, lossless: bool = False
) -> Figures:
    """On a process_fault_stack, the worker is also killed and Azurite restarted (seeded)."""
    started = time.monotonic()
    rng = random.Random(seed)
    wait_quiet(stack)  # nothing left over from the previous scenario
    stack.graph.reset()
    hurts_processes = stack.azurite is not None
    # Graph retries a webhook that is down for hours; the emulator's 3 quick retries (about
    # 0.35 s here) would not outlast a restart.
    retries = 10 if hurts_processes else 3
    stack.graph.update_settings(notification_retry_delay_seconds=0.05, notification_retries=retries)
    create_subscription(stack)
    wait_quiet(stack)
    protected = {CEO} | load_policy(rules).group(ENGINEERING).exclude
    editor = Edits(stack, rng, protected)
    processes = ProcessFaults(stack, rng, edits) if hurts_processes else None
    spent_before = removals_spent()
    stack.graph.add_fault({"rules": fault_plan(rng, lossless)})
    try:
        for index in range(edits):
            if processes:
                processes.before_edit(index)
            editor.one()
            if processes:
                processes.after_edit()
            time.sleep(rng.uniform(0, 0.03))
        if processes:
            processes.finish()
    finally:
        editor.close()
        plan = stack.graph.faults()
        stack.graph.clear_faults()
    wait_quiet(stack)
    off = off_for_edited_users(rules, stack.graph.export_tenant(), editor)
    removed = sum(1 for w in stack.graph.writes() if w["applied"] and w["action"] == "remove")
    unbudgeted = max(0, removed - (removals_spent() - spent_before))
    full_reconciliation(rules, stack.graph)
    wait_quiet(stack)
    figures = check(rules, stack.graph.export_tenant(), stack.graph.writes(), editor)
    figures.scenarios = 1
    figures.off_before_sweep = off
    figures.edits = editor.count
    for rule in plan:
        figures.faults_injected += rule["fired"]
        kind = rule["kind"] if rule["kind"] != "status" else str(rule["status"])
        if kind == "latency" and rule["latencyMs"] >= 3000:
            kind = "slow>3s"
        figures.faults_by_kind[kind] = figures.faults_by_kind.get(kind, 0) + rule["fired"]
    if processes:
        figures.faults_injected += processes.kills + processes.restarts
        figures.faults_by_kind["sigkill"] = processes.kills
        figures.faults_by_kind["azurite-restart"] = processes.restarts
        figures.faults_by_kind["table-outage"] = processes.table_outages
        figures.faults_injected += processes.table_outages
    figures.unbudgeted_removals = unbudgeted
    if unbudgeted:
        figures.problems.append(f"{unbudgeted} removals written without a budget spend")
    figures.seconds = time.monotonic() - started
    figures.problems = [f"seed {seed}: {p}" for p in figures.problems]
    return figures

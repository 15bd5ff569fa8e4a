"""Issue 12 acceptance on the whole stack (Azurite queue + tables, the Graph emulator, devhost
hosting function_app.py, a second worker process on the same queue): an HR feed blanks the
department of 252 of the 420 members of 'Sales - all'.

Through change notifications (webhook -> queue -> two workers) at most the budget goes (84
at 20 %), the rest waits in one pending hold; `holds approve` removes exactly them, `holds
reject` removes none and the next run holds them again; the same through `sync-user` in
chunks of 50; with the table service stopped no removal happens and none is lost.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devhost.azurite import Azurite
from devhost.process import DevHostProcess
from harness.stack import subscribe as create_subscription
from reconciler.cli import main
from tests.devhost.fixtures import wait_until
from tests.e2e.conftest import Stack, running_stack

ROOT = Path(__file__).resolve().parents[2]
SALES = "10000000-0000-4000-8000-000000000001"
TOKEN = {"Authorization": "Bearer e2e"}
CLIENT_STATE = "budget-client-state-0123456789"
MEMBERS, BLANKED, BUDGET = 420, 252, 84
RULES = f"""
[[groups]]
id = "{SALES}"
name = "Sales - all"
rule = '(user.department -eq "Sales") -and (user.accountEnabled -eq true)'
"""


@pytest.fixture(scope="module")
def budget_stack(azurite, loopback_only: None, tmp_path_factory) -> Iterator[Stack]:
    """The sample tenant (1,000 users) managing only 'Sales - all', own queue and tables."""
    rules = tmp_path_factory.mktemp("budget") / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    overrides = {
        "RULES_FILE": str(rules),
        "CLIENT_STATE": CLIENT_STATE,
        "STATE_TABLE_PREFIX": "e2ebudget",
        "MAX_REMOVAL_PERCENT": "20",
        "REMOVAL_FLOOR": "10",
    }
    with running_stack(
        azurite.connection_string, users=1000, queue="user-changes-budget", overrides=overrides
    ) as stack:
        yield stack


def converge(stack: Stack, blanked: int = 0) -> list[str]:
    """Load the tenant with exactly MEMBERS enabled Sales users, all members of the group,
    the first `blanked` of them with no department already (as if HR blanked them with no
    notification). Returns the members in order. Sends no notifications."""
    tenant = stack.graph.export_tenant()
    chosen: list[str] = []
    for user in tenant["users"]:
        if user.get("accountEnabled") and len(chosen) < MEMBERS and user.get("userType") != "Guest":
            chosen.append(user["id"])
            user["department"] = "Sales"
        elif user.get("department") == "Sales":
            user["department"] = "Marketing"
    for user_id in chosen[:blanked]:
        next(u for u in tenant["users"] if u["id"] == user_id)["department"] = None
    tenant["members"][SALES] = list(chosen)
    stack.graph.load_tenant(tenant)
    assert members(stack) == set(chosen)
    return chosen


def members(stack: Stack) -> set[str]:
    return set(stack.graph.export_tenant()["members"][SALES])


def removals(stack: Stack, since: int = 0) -> list[str]:
    return [
        w["memberId"]
        for w in stack.graph.writes(since)
        if w["applied"] and w["groupId"] == SALES and w["action"] == "remove"
    ]


def cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def pending(capsys: pytest.CaptureFixture) -> list[dict]:
    code, document = cli(capsys, "holds", "list", "--status", "pending")
    assert code == 0
    return document["holds"]


def subscribe(stack: Stack) -> None:
    created = create_subscription(stack, CLIENT_STATE)
    assert created.status_code == 201, created.text


def test_an_hr_blank_through_the_webhook_removes_the_budget_and_holds_the_rest(
    budget_stack: Stack, capsys: pytest.CaptureFixture
) -> None:
    stack = budget_stack
    chosen = converge(stack)
    subscribe(stack)
    blanked = chosen[:BLANKED]
    # A second worker process on the same queue: the two race for the same budget.
    with DevHostProcess(host_json=ROOT / "tests/devhost/host.json", env=os.environ) as second:
        with httpx.Client(base_url=stack.graph.base_url, headers=TOKEN) as graph:
            for user_id in blanked:
                answer = graph.patch(f"/users/{user_id}", json={"department": None})
                assert answer.status_code == 204
        holds = wait_until(
            lambda: [h for h in pending(capsys) if h["users"] == BLANKED - BUDGET],
            timeout=60,
            what="the pending hold to hold 168 users",
        )
        # the delayed rechecks look again: held users stay held, nothing more is spent
        wait_until(
            lambda: stack.graph.notifications()["pending"] == 0, what="notifications delivered"
        )
        wait_until(lambda: queue_drained(stack), timeout=30, what="the queue and rechecks")
        worked = sum("'Functions.process_user_changes' (Succeeded" in line for line in second.lines)
    assert worked > 0  # the second worker took its share of the messages
    assert len(removals(stack)) == BUDGET
    assert members(stack) == set(chosen) - set(removals(stack))
    [hold] = holds
    assert hold["group"] == SALES and hold["status"] == "pending" and hold["createdAt"]
    code, shown = cli(capsys, "holds", "show", hold["id"])
    held = {r["user"] for r in shown["removals"]}
    assert held == set(blanked) - set(removals(stack))
    assert all(r["reason"].startswith("rule does not match") for r in shown["removals"])

    before = len(stack.graph.writes())
    code, approved = cli(capsys, "holds", "approve", hold["id"], "--by", "ops@contoso")
    assert code == 0, approved
    assert set(removals(stack, before)) == held
    assert approved["hold"]["status"] == "approved"
    assert approved["hold"]["decidedBy"] == "ops@contoso"
    assert members(stack) == set(chosen[BLANKED:])

    code, status = cli(capsys, "status")
    [group] = status["groups"]
    assert group["pendingHold"] is None and group["lastChange"] is not None


def queue_drained(stack: Stack) -> bool:
    from azure.storage.queue import QueueClient

    client = QueueClient.from_connection_string(stack.connection, stack.queue)
    return client.get_queue_properties().approximate_message_count == 0


def test_reject_removes_none_and_the_next_run_holds_them_again(
    budget_stack: Stack, capsys: pytest.CaptureFixture
) -> None:
    """The budget of this window is spent (the test before): all new removals are held."""
    stack = budget_stack
    remaining = sorted(members(stack))
    assert len(remaining) == MEMBERS - BLANKED
    blanked = remaining[:20]
    with httpx.Client(base_url=stack.graph.base_url, headers=TOKEN) as graph:
        for user_id in blanked:
            assert graph.patch(f"/users/{user_id}", json={"department": None}).status_code == 204
    [hold] = wait_until(
        lambda: [h for h in pending(capsys) if h["users"] == len(blanked)],
        timeout=30,
        what="the 20 removals to be held",
    )
    wait_until(lambda: queue_drained(stack), timeout=30, what="the queue and rechecks")
    before = len(stack.graph.writes())
    code, rejected = cli(capsys, "holds", "reject", hold["id"], "--by", "ops@contoso")
    assert code == 0 and rejected["status"] == "rejected"
    assert pending(capsys) == []
    code, report = cli(capsys, "sync-user", *blanked)  # the next run that wants them
    assert code == 3, report
    assert removals(stack, before) == []
    assert set(blanked) <= members(stack)
    [again] = pending(capsys)
    assert again["id"] != hold["id"] and again["users"] == len(blanked)


def test_sync_user_in_chunks_of_fifty_removes_at_most_the_budget(
    budget_stack: Stack, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = budget_stack
    monkeypatch.setenv("STATE_TABLE_PREFIX", "e2esyncuser")  # a fresh budget window
    chosen = converge(stack, blanked=BLANKED)
    before = len(stack.graph.writes())
    blanked = chosen[:BLANKED]
    codes = []
    for start in range(0, BLANKED, 50):
        code, report = cli(capsys, "sync-user", *blanked[start : start + 50])
        codes.append(code)
        assert report["summary"]["exitCode"] == code
    assert len(removals(stack, before)) == BUDGET
    assert codes[0] == 0 and codes[-1] == 3
    [hold] = pending(capsys)
    assert hold["users"] == BLANKED - BUDGET
    # approve over HTTP this time (auth level ADMIN; devhost checks no keys by default)
    answer = httpx.post(
        f"{stack.host.url('list_holds')}/{hold['id']}/approve",
        json={"by": "ops@contoso"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["hold"]["removed"] == BLANKED - BUDGET
    assert len(removals(stack, before)) == BLANKED
    listed = httpx.get(stack.host.url("list_holds"), params={"status": "approved"}).json()
    assert hold["id"] in {h["id"] for h in listed["holds"]}


def test_with_the_table_service_stopped_no_removal_happens_and_none_is_lost(
    budget_stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queues on the session's Azurite, tables on their own (kept on disk): with the tables
    stopped an add goes through and the removal waits (its message is queued again, not
    poisoned); once the tables are back it lands."""
    stack = budget_stack
    chosen = converge(stack)
    subscribe(stack)  # loading the tenant dropped the subscription
    joining = next(
        u["id"]
        for u in stack.graph.export_tenant()["users"]
        if u.get("accountEnabled") and u["id"] not in chosen and u.get("userType") != "Guest"
    )
    leaving = chosen[0]
    data = tmp_path / "tables"
    with Azurite(services=("table",), location=data) as tables:
        port = tables.ports["table"]
        endpoint = tables.endpoint("table")
    monkeypatch.setenv("AzureWebJobsStorage", with_tables(stack.connection, endpoint))
    monkeypatch.setenv("STATE_TABLE_PREFIX", "e2eoutage")
    before = len(stack.graph.writes())
    stack.graph.patch_user(leaving, department=None)
    stack.graph.patch_user(joining, department="Sales")
    wait_until(lambda: joining in members(stack), timeout=20, what="the add to go through")
    assert leaving in members(stack) and removals(stack, before) == []
    with Azurite(services=("table",), location=data, ports={"table": port}):
        wait_until(lambda: leaving not in members(stack), timeout=30, what="the late removal")
    assert removals(stack, before) == [leaving]
    assert poisoned(stack) == 0


def with_tables(connection: str, endpoint: str) -> str:
    """The connection string with its TableEndpoint replaced."""
    parts = [p for p in connection.split(";") if p and not p.startswith("TableEndpoint=")]
    return ";".join([*parts, f"TableEndpoint={endpoint}"]) + ";"


def poisoned(stack: Stack) -> int:
    from azure.storage.queue import QueueClient

    client = QueueClient.from_connection_string(stack.connection, f"{stack.queue}-poison")
    try:
        return client.get_queue_properties().approximate_message_count
    except Exception:
        return 0


def test_the_operator_routes_answer_bad_requests_clearly(budget_stack: Stack) -> None:
    holds = budget_stack.host.url("list_holds")
    assert httpx.get(f"{holds}/not-an-id").json()["error"]["code"] == "InvalidHoldId"
    missing = httpx.get(f"{holds}/0123456789ab")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "HoldNotFound"
    anonymous = httpx.post(f"{holds}/0123456789ab/approve", json={})
    assert anonymous.status_code == 400
    assert anonymous.json()["error"]["code"] == "MissingDecider"
    assert httpx.get(holds, params={"status": "maybe"}).status_code == 400
    status = httpx.get(budget_stack.host.url("status"))
    assert status.status_code == 200 and status.json()["groups"][0]["id"] == SALES

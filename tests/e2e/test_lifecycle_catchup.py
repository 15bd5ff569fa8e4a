"""Lifecycle events and the delta catch-up on the whole stack (Azurite, emulator, devhost).

The catch-up timer runs every 2 seconds here (DELTA_CATCHUP_SCHEDULE) and the full
reconciliation never does, so a change that arrives without a notification can only have come
through the catch-up. The tests run in file order on one stack; each waits with a deadline.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from harness.stack import Stack, running_stack
from tests.devhost.fixtures import (
    azurite,  # noqa: F401 - the session fixture
    wait_until,
)

SALES = "10000000-0000-4000-8000-000000000001"
TOKEN = {"Authorization": "Bearer e2e"}
PERIOD = 2  # seconds: the catch-up schedule below
NEVER = "0 0 0 1 1 *"
_chosen: set[str] = set()


@pytest.fixture(scope="module")
def stack(azurite, loopback_only: None) -> Iterator[Stack]:  # noqa: F811
    overrides = {
        "DELTA_CATCHUP_SCHEDULE": f"*/{PERIOD} * * * * *",
        "FULL_RECONCILE_SCHEDULE": NEVER,
        "STATE_TABLE_PREFIX": f"e2e{uuid.uuid4().hex[:8]}",  # a delta link of its own
    }
    with running_stack(azurite.connection_string, queue="catchup-e2e", overrides=overrides) as s:
        yield s


def members(stack: Stack) -> set[str]:
    return set(stack.graph.export_tenant()["members"][SALES])


def outsider(stack: Stack) -> str:
    """An enabled user outside Sales, not used before in this module."""
    tenant = stack.graph.export_tenant()
    current = set(tenant["members"][SALES])
    user_id = next(
        u["id"]
        for u in tenant["users"]
        if u.get("department") not in ("Sales", None)
        and u.get("accountEnabled")
        and u["id"] not in current
        and u["id"] not in _chosen
    )
    _chosen.add(user_id)
    return user_id


def subscriptions(stack: Stack) -> list[dict]:
    return httpx.get(f"{stack.graph.base_url}/subscriptions", headers=TOKEN).json()["value"]


def edit_department(stack: Stack, user_id: str) -> None:
    answer = httpx.patch(
        f"{stack.graph.base_url}/users/{user_id}", headers=TOKEN, json={"department": "Sales"}
    )
    assert answer.status_code == 204


def delivered_to(stack: Stack, subscription_id: str) -> int:
    return sum(
        entry["count"]
        for entry in stack.graph.notifications()["value"]
        if entry["outcome"] == "delivered" and subscription_id in entry["subscriptionIds"]
    )


def sweep_reads(stack: Stack, since: int) -> list[str]:
    """Member listings of Sales since a request number: only a full run reads them."""
    return [
        r["path"]
        for r in stack.graph.requests(since)
        if r["path"].split("?")[0] == f"/groups/{SALES}/members"
    ]


def last_request(stack: Stack) -> int:
    entries = stack.graph.requests()
    return entries[-1]["seq"] if entries else 0


def test_the_upkeep_creates_the_subscription_and_the_catch_up_keeps_a_link(stack: Stack) -> None:
    # subscription_upkeep runs at start (run_on_startup), as in Azure.
    wait_until(lambda: len(subscriptions(stack)) == 1, what="the subscription")
    # A link is started (by the upkeep that created it, or the timer): delta tokens issued.
    wait_until(lambda: stack.graph.delta_state()["tokensIssued"] > 0, what="a delta link")


def test_subscription_removed_is_replaced_within_seconds_and_the_next_edit_is_notified(
    stack: Stack,
) -> None:
    [removed] = subscriptions(stack)
    stack.graph.send_lifecycle(removed["id"], "subscriptionRemoved")

    def replacement() -> dict | None:
        found = [s for s in subscriptions(stack) if s["id"] != removed["id"]]
        return found[0] if found else None

    new = wait_until(replacement, timeout=10, what="a new subscription")
    assert new["lifecycleNotificationUrl"] == stack.host.url("lifecycle")
    assert [s["id"] for s in subscriptions(stack)] == [new["id"]]
    user_id = outsider(stack)
    since = last_request(stack)
    edit_department(stack, user_id)
    wait_until(lambda: user_id in members(stack), timeout=10, what="the membership")
    assert delivered_to(stack, new["id"]) >= 1  # it came as a notification to the new one
    assert sweep_reads(stack, since) == []  # and not through a full run


def test_a_change_while_the_subscription_is_gone_is_applied_by_the_catch_up(
    stack: Stack,
) -> None:
    [current] = subscriptions(stack)
    # Graph drops the subscription without a word: no lifecycle event, no notification.
    deleted = httpx.delete(f"{stack.graph.base_url}/subscriptions/{current['id']}", headers=TOKEN)
    assert deleted.status_code == 204
    user_id = outsider(stack)
    since = last_request(stack)
    notified_before = len(stack.graph.notifications()["value"])
    edit_department(stack, user_id)
    # One period of the catch-up timer, with room for the queue and the worker.
    wait_until(lambda: user_id in members(stack), timeout=PERIOD + 8, what="the catch-up")
    assert len(stack.graph.notifications()["value"]) == notified_before  # nobody was notified
    assert sweep_reads(stack, since) == []  # not the sweep
    delta_reads = [r for r in stack.graph.requests(since) if "/users/delta" in r["path"]]
    assert delta_reads  # the catch-up asked Graph what changed

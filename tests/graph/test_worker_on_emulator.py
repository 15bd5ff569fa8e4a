"""The queue worker's job on the emulator: converge, recheck, poison, retry."""

from __future__ import annotations

import itertools
import json
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from reconciler.settings import Settings
from reconciler.work import message as work
from reconciler.work.storage import QueueUnavailable
from reconciler.work.worker import RetryLater, process_message
from tests.devhost.fixtures import azurite  # noqa: F401 - the session fixture
from tests.graph.conftest import graph_directory

ROOT = Path(__file__).resolve().parents[2]
_PREFIXES = itertools.count(1)
SALES = "10000000-0000-4000-8000-000000000001"


class RecordingQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []
        self.poisoned: list[str] = []

    async def send(self, text: str, *, delay_seconds: int = 0) -> None:
        self.sent.append((text, delay_seconds))

    async def backlog(self) -> int:
        return 0  # a quiet queue: no burst

    async def send_to_poison(self, text: str) -> None:
        self.poisoned.append(text)


class UnavailableQueue(RecordingQueue):
    """Storage down: every send fails as StorageWorkQueue reports it."""

    async def send(self, text: str, *, delay_seconds: int = 0) -> None:
        raise QueueUnavailable("could not write to queue 'user-changes': connection refused")


@pytest.fixture
def worker_env(graph, sleeps, azurite, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    """The worker's settings: the emulator, and Azurite's tables for the removal budget (own
    tables per test, so one test's removals never spend another's budget)."""
    monkeypatch.setenv("RULES_FILE", str(ROOT / "rules.sample.toml"))
    settings = Settings.from_env(
        {
            "GRAPH_BASE_URL": graph.base_url,
            "GRAPH_CREDENTIAL": "static",
            "GRAPH_STATIC_TOKEN": "t",
            "RECHECK_DELAY_SECONDS": "45",
            "AzureWebJobsStorage": azurite.connection_string,
            "STATE_TABLE_PREFIX": f"worker{next(_PREFIXES)}",
        }
    )

    @asynccontextmanager
    async def factory(_: Settings):
        async with graph_directory(graph.base_url, sleeps) as directory:
            yield directory

    return settings, factory


def outsider(graph) -> str:
    tenant = graph.export_tenant()
    members = set(tenant["members"][SALES])
    return next(
        u["id"]
        for u in tenant["users"]
        if u.get("department") not in ("Sales", None)
        and u["id"] not in members
        and u.get("accountEnabled")
    )


async def test_a_notification_message_converges_and_schedules_one_recheck(
    graph, worker_env
) -> None:
    settings, factory = worker_env
    user_id = outsider(graph)
    graph.patch_user(user_id, department="Sales")
    [message] = work.users_messages([user_id], cause="notification")
    queue = RecordingQueue()
    outcome = await process_message(work.encode(message), settings, queue, factory)
    assert outcome.kind == "users" and outcome.exit_code == 0
    assert user_id in graph.export_tenant()["members"][SALES]
    [(text, delay)] = queue.sent
    recheck = work.decode(text)
    assert (recheck.cause, recheck.user_ids, delay) == ("recheck", (user_id,), 45)
    assert recheck.correlation_id == message.correlation_id
    again = RecordingQueue()
    await process_message(text, settings, again, factory)
    assert again.sent == []  # a recheck never schedules another


@pytest.mark.parametrize(
    "body",
    ["not json", json.dumps({"v": 2, "kind": "users", "userIds": ["x"]}), "{}", ""],
)
async def test_a_message_that_can_never_succeed_goes_to_the_poison_queue(
    worker_env, body: str
) -> None:
    settings, factory = worker_env
    queue = RecordingQueue()
    outcome = await process_message(body, settings, queue, factory)
    assert outcome.kind == "poisoned" and queue.poisoned == [body] and queue.sent == []


async def test_graph_failing_hands_the_message_back_for_a_retry(graph, worker_env) -> None:
    settings, factory = worker_env
    graph.add_fault(kind="status", status=503, method="POST", route="/$batch")
    [message] = work.users_messages([outsider(graph)], cause="notification")
    queue = RecordingQueue()
    with pytest.raises(RetryLater):
        await process_message(work.encode(message), settings, queue, factory)
    assert queue.sent == [] and queue.poisoned == []


async def test_a_group_message_reconciles_that_group_only(graph, worker_env) -> None:
    settings, factory = worker_env
    [message] = work.group_messages([SALES.upper()], cause="sync")
    outcome = await process_message(work.encode(message), settings, RecordingQueue(), factory)
    assert outcome.kind == "group" and outcome.exit_code == 0
    assert {w["groupId"] for w in graph.writes() if w["applied"]} == {SALES}


async def test_a_recheck_storage_cannot_take_hands_the_message_back(graph, worker_env) -> None:
    """Storage down after the writes: the memberships are converged, and the message is retried
    so that its recheck is not lost."""
    settings, factory = worker_env
    user_id = outsider(graph)
    graph.patch_user(user_id, department="Sales")
    [message] = work.users_messages([user_id], cause="notification")
    with pytest.raises(RetryLater, match="could not write to queue 'user-changes'"):
        await process_message(work.encode(message), settings, UnavailableQueue(), factory)
    assert user_id in graph.export_tenant()["members"][SALES]

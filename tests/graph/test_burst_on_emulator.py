"""Burst coalescing on the emulator with Azurite's tables: in a backlog past BURST_USERS one
worker runs the tenant's set-based pass; messages it covers complete without a Graph read; a
message newer than the pass, or a recheck due after it, is not taken as covered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.settings import Settings
from reconciler.state.tables import TableStateStore
from reconciler.work import message as work
from reconciler.work.worker import process_message
from tests.devhost.fixtures import azurite  # noqa: F401 - the session fixture
from tests.graph.test_worker_on_emulator import (  # noqa: F401 - worker_env is a fixture
    SALES,
    RecordingQueue,
    worker_env,
)


class BacklogQueue(RecordingQueue):
    """A queue that reports a backlog of `waiting` messages."""

    def __init__(self, waiting: int) -> None:
        super().__init__()
        self.waiting = waiting

    async def backlog(self) -> int:
        return self.waiting


def outsiders(graph, count: int) -> list[str]:
    tenant = graph.export_tenant()
    members = set(tenant["members"][SALES])
    return [
        u["id"]
        for u in tenant["users"]
        if u.get("department") not in ("Sales", None)
        and u["id"] not in members
        and u.get("accountEnabled")
    ][:count]


def last_seq(graph) -> int:
    """The request log's latest sequence number (it runs on across resets)."""
    return max((r["seq"] for r in graph.requests()), default=0)


def reads(graph, since: int) -> list[str]:
    return [r["path"] for r in graph.requests(since) if r["method"] in ("GET", "POST")]


async def last_pass_start(settings: Settings) -> datetime | None:
    store = TableStateStore.from_settings(settings)
    try:
        return (await store.burst_pass()).last_started_at
    finally:
        await store.close()


async def test_a_burst_is_one_pass_and_covers_the_messages_before_it(graph, worker_env) -> None:  # noqa: F811
    settings, factory = worker_env
    changed = outsiders(graph, 12)
    for user_id in changed:
        graph.patch_user(user_id, department="Sales")
    first, second = (
        work.users_messages(changed[:6], cause="notification")[0],
        work.users_messages(changed[6:], cause="notification")[0],
    )
    burst = BacklogQueue(waiting=settings.burst_users)  # thousands waiting behind these
    outcome = await process_message(work.encode(first), settings, burst, factory)
    assert outcome.kind == "burst" and outcome.exit_code == 0
    assert set(changed) <= set(graph.export_tenant()["members"][SALES])  # the pass did all 12
    assert await last_pass_start(settings) is not None
    before = last_seq(graph)
    covered = await process_message(work.encode(second), settings, burst, factory)
    assert (covered.kind, covered.detail) == ("users", "covered by a burst pass")
    assert reads(graph, before) == []  # no Graph read for a covered message
    [(recheck, _)] = burst.sent[-1:]  # a covered notification still schedules its recheck
    assert work.decode(recheck).cause == "recheck"


async def test_messages_the_pass_cannot_cover_take_their_own_path(graph, worker_env) -> None:  # noqa: F811
    settings, factory = worker_env
    [user_id] = outsiders(graph, 1)
    burst = BacklogQueue(waiting=settings.burst_users)
    [seed] = work.users_messages([user_id], cause="sweep")
    await process_message(work.encode(seed), settings, burst, factory)  # runs the pass
    started = await last_pass_start(settings)
    assert started is not None
    graph.patch_user(user_id, department="Sales")
    newer = started + timedelta(seconds=1)
    [later] = work.users_messages([user_id], cause="notification", now=newer)
    half_delay = timedelta(seconds=settings.recheck_delay_seconds / 2)
    [due] = work.users_messages([user_id], cause="recheck", now=started - half_delay)
    outcome = await process_message(work.encode(later), settings, burst, factory)
    assert outcome.kind == "burst"  # newer than the last pass: a new pass, which sees the edit
    assert user_id in graph.export_tenant()["members"][SALES]
    second = await last_pass_start(settings)
    assert second is not None and second > started
    graph.patch_user(user_id, department="Marketing")
    # Enqueued before both passes, but its delayed look is due after them: not covered.
    recheck = await process_message(work.encode(due), settings, burst, factory)
    assert recheck.kind == "burst"
    assert user_id not in graph.export_tenant()["members"][SALES]


async def test_a_quiet_queue_keeps_the_per_user_path(graph, worker_env) -> None:  # noqa: F811
    settings, factory = worker_env
    [user_id] = outsiders(graph, 1)
    graph.patch_user(user_id, department="Sales")
    [message] = work.users_messages([user_id], cause="notification", now=datetime.now(UTC))
    before = last_seq(graph)
    outcome = await process_message(work.encode(message), settings, BacklogQueue(3), factory)
    assert outcome.kind == "users"
    assert not any("/users?" in path for path in reads(graph, before))  # no tenant listing

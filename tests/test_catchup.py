"""reconciler.service.catchup with in-memory parts: what is queued, what link is kept, when a
full run replaces the catch-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.delta import DeltaExpired, DeltaRound
from reconciler.directory import DirectoryError
from reconciler.policy import Policy, load_policy
from reconciler.service.catchup import catch_up, tracked_properties
from reconciler.service.outcome import Outcome
from reconciler.state.delta_link import SavedLink
from reconciler.state.ports import StateConflict, StateUnavailable
from reconciler.work import message as work

ROOT = Path(__file__).resolve().parents[1]
IDS = [f"5f3c1b7e-0000-4000-8000-{n:012d}" for n in range(450)]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(ROOT / "rules.sample.toml")


class Delta:
    """A delta source: `latest` links handed out, rounds answered from `rounds` by link."""

    def __init__(self, rounds: dict[str, DeltaRound | Exception] | None = None) -> None:
        self.rounds = rounds or {}
        self.started: list[tuple[str, ...]] = []
        self.followed: list[str] = []
        self.log: list[str] = []

    async def latest_delta_link(self, select) -> str:
        self.started.append(tuple(select))
        self.log.append("latest")
        return f"latest-{len(self.started)}"

    async def user_changes(self, link: str) -> DeltaRound:
        self.followed.append(link)
        answer = self.rounds[link]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Links:
    """The delta-link row: a version per write, StateConflict on a stale version."""

    def __init__(self, saved: SavedLink | None = None, log: list[str] | None = None) -> None:
        self.saved = saved
        self.writes = 0
        self.fail_read: Exception | None = None
        self.concurrent: SavedLink | None = None
        self.log = log if log is not None else []

    async def read_link(self) -> SavedLink | None:
        if self.fail_read is not None:
            raise self.fail_read
        return self.saved

    async def write_link(self, link: str, select: tuple[str, ...], version: str | None) -> None:
        if self.concurrent is not None:  # another catch-up writes between our read and write
            self.saved, self.concurrent = self.concurrent, None
        current = self.saved.version if self.saved else None
        if version != current:
            raise StateConflict("412 the row changed")
        self.writes += 1
        self.log.append(f"write {link}")
        self.saved = SavedLink(link, select, f"v{self.writes}")


class Queue:
    def __init__(self) -> None:
        self.sent: list[work.Message] = []

    async def send(self, text: str, *, delay_seconds: int = 0) -> None:
        self.sent.append(work.decode(text))


class FullRun:
    def __init__(self, log: list[str], outcome: Outcome | None = None) -> None:
        self.calls: list[str] = []
        self.log = log
        self.outcome = outcome or Outcome.done()

    async def __call__(self, correlation_id: str) -> Outcome:
        self.calls.append(correlation_id)
        self.log.append("full run")
        return self.outcome


def saved(policy: Policy, link: str = "link-1", version: str = "v0") -> SavedLink:
    return SavedLink(link, tracked_properties(policy), version)


async def run(delta: Delta, links: Links, queue: Queue, policy: Policy, full: FullRun):
    return await catch_up(delta, links, queue, policy, full, reason="schedule")


def test_the_link_tracks_every_property_the_rules_read(policy: Policy) -> None:
    tracked = tracked_properties(policy)
    assert tracked == tuple(sorted(tracked))
    assert {"id", "department", "accountEnabled"} <= set(tracked)


async def test_without_a_link_one_is_started_from_now_and_nothing_is_queued(
    policy: Policy,
) -> None:
    log: list[str] = []
    delta, links, queue = Delta(), Links(log=log), Queue()
    result = await run(delta, links, queue, policy, FullRun(log))
    assert (result.kind, result.outcome.kind, result.users) == ("started", "done", 0)
    assert delta.started == [tracked_properties(policy)]
    assert links.saved is not None and links.saved.link == "latest-1"
    assert links.saved.select == tracked_properties(policy)
    assert queue.sent == [] and log == ["write latest-1"]


async def test_changed_and_removed_users_are_queued_as_catchup_messages_then_the_link_moves(
    policy: Policy,
) -> None:
    found = DeltaRound(tuple(IDS[:400]), tuple(IDS[400:]), "link-2", pages=3)
    delta, links, queue = Delta({"link-1": found}), Links(saved(policy)), Queue()
    result = await run(delta, links, queue, policy, FullRun([]))
    assert (result.kind, result.users, result.messages) == ("caught-up", 450, 3)
    assert [m.user_ids for m in queue.sent] == [
        tuple(IDS[:200]),
        tuple(IDS[200:400]),
        tuple(IDS[400:]),
    ]
    assert {m.cause for m in queue.sent} == {"catchup"}
    assert {m.correlation_id for m in queue.sent} == {result.correlation_id}
    assert links.saved is not None and links.saved.link == "link-2"


async def test_nothing_changed_queues_nothing_and_keeps_following(policy: Policy) -> None:
    delta = Delta({"link-1": DeltaRound((), (), "link-2", pages=1)})
    links, queue = Links(saved(policy)), Queue()
    result = await run(delta, links, queue, policy, FullRun([]))
    assert (result.kind, result.users, queue.sent) == ("caught-up", 0, [])
    assert links.saved is not None and links.saved.link == "link-2"


async def test_a_link_tracking_other_properties_is_started_again(policy: Policy) -> None:
    old = SavedLink("link-1", ("department", "id"), "v0")
    delta, links, queue = Delta(), Links(old), Queue()
    result = await run(delta, links, queue, policy, FullRun([]))
    assert result.kind == "started"
    assert delta.followed == []  # the old link is never followed
    assert links.saved is not None and links.saved.select == tracked_properties(policy)


async def test_an_expired_link_is_replaced_first_then_a_full_run_repairs_everything(
    policy: Policy,
) -> None:
    log: list[str] = []
    delta = Delta({"link-1": DeltaExpired("410 Gone")})
    links, queue = Links(saved(policy), log), Queue()
    full = FullRun(log, Outcome.held("held: Sales - all"))
    result = await run(delta, links, queue, policy, full)
    assert result.kind == "resynced"
    assert result.outcome == Outcome.held("held: Sales - all")  # the full run's own outcome
    assert log == ["write latest-1", "full run"]  # changes during the run are in the new link
    assert full.calls == [result.correlation_id]
    assert queue.sent == []


async def test_graph_failing_keeps_the_link_and_asks_for_a_retry(policy: Policy) -> None:
    delta = Delta({"link-1": DirectoryError("503 after 6 attempts", status=503)})
    links, queue = Links(saved(policy)), Queue()
    result = await run(delta, links, queue, policy, FullRun([]))
    assert (result.outcome.kind, result.outcome.retry) == ("retry", "directory")
    assert links.saved is not None and links.saved.link == "link-1" and links.writes == 0
    assert queue.sent == []


async def test_the_link_store_failing_asks_for_a_retry_on_the_state(policy: Policy) -> None:
    links = Links(saved(policy))
    links.fail_read = StateUnavailable("table reconcilerdelta: connection refused")
    result = await run(Delta(), links, Queue(), policy, FullRun([]))
    assert (result.outcome.kind, result.outcome.retry) == ("retry", "state")


async def test_a_catch_up_that_lost_the_race_still_queued_its_users(policy: Policy) -> None:
    found = DeltaRound((IDS[0],), (), "link-2", pages=1)
    links, queue = Links(saved(policy)), Queue()
    links.concurrent = saved(policy, "their-link", version="newer")
    result = await catch_up(
        Delta({"link-1": found}), links, queue, policy, FullRun([]), reason="missed"
    )
    assert result.raced and result.outcome.kind == "done"
    assert [m.user_ids for m in queue.sent] == [(IDS[0],)]
    assert links.saved is not None and links.saved.link == "their-link"  # theirs stays

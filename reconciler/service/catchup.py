"""The delta catch-up: queue the users Graph says changed since the saved delta link.

Notifications can be lost without a signal (a subscription removed or expired, `missed`,
delivery paused, a POST Graph gave up on); `/users/delta` can say what changed since a point.
So a catch-up reads one delta round from the saved link and queues the changed users as
ordinary `users` messages (cause `catchup`): the worker re-reads them and converges, and the
removal budget applies as for notifications. The new link is saved only after the messages
were queued, so a crash in between queues the same users again rather than losing them.

- No saved link, or one tracking other properties (rules now read other attributes): start a
  new link "from now" (`$deltatoken=latest`) and queue nothing. Whatever changed before is the
  full reconciliation's to repair, as it was before any catch-up ran; a rule edit needs a full
  run anyway.
- A link Graph no longer honours (410 Gone, syncStateNotFound: tokens live 7 days): start a
  new link first, then run a full reconciliation, so nothing changed during it is missed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from reconciler.delta import DeltaExpired, DeltaRound
from reconciler.directory import DirectoryError
from reconciler.policy import Policy
from reconciler.rules import RuleSet
from reconciler.service.outcome import Outcome
from reconciler.service.run import Run
from reconciler.state.delta_link import SavedLink
from reconciler.state.ports import StateConflict, StateUnavailable
from reconciler.work import message as work

CatchupKind = Literal["started", "caught-up", "resynced", "skipped"]


class DeltaSource(Protocol):
    """GraphDirectory implements these (reconciler/graph/delta.py)."""

    async def latest_delta_link(self, select: Sequence[str]) -> str: ...

    async def user_changes(self, link: str) -> DeltaRound: ...


class DeltaLinkStore(Protocol):
    """reconciler.state.delta_link.TableDeltaLinks implements it."""

    async def read_link(self) -> SavedLink | None: ...

    async def write_link(self, link: str, select: tuple[str, ...], version: str | None) -> None:
        """StateConflict when another catch-up wrote it since `version` was read."""
        ...


class Sender(Protocol):
    async def send(self, text: str, *, delay_seconds: int = 0) -> None: ...


FullRun = Callable[[str], Awaitable[Outcome]]
"""Runs a full reconciliation with this correlation id and returns its outcome."""


@dataclass(frozen=True, slots=True)
class CatchupResult:
    """What a catch-up did: `kind`, users queued and in how many messages, its outcome."""

    kind: CatchupKind
    outcome: Outcome
    users: int = 0
    messages: int = 0
    correlation_id: str = ""
    raced: bool = False  # another catch-up saved its link first (our users were queued too)


def tracked_properties(policy: Policy) -> tuple[str, ...]:
    """What the delta link tracks: every property a usable rule reads, plus `manager` when a
    rule follows it (delta reports manager changes only when it is selected)."""
    ruleset = RuleSet({g.id: g.rule for g in policy.usable_groups if g.rule is not None})
    names = set(ruleset.select) | {"id"}
    if ruleset.needs_manager:
        names.add("manager")
    return tuple(sorted(names))


async def catch_up(
    delta: DeltaSource,
    links: DeltaLinkStore,
    queue: Sender,
    policy: Policy,
    full_run: FullRun,
    *,
    reason: str,
    correlation_id: str | None = None,
) -> CatchupResult:
    """One catch-up (see the module). `reason` says what asked for it (schedule, missed,
    subscriptionRemoved, recreated) and goes into the audit record. Graph failing: retry for
    the directory; the link store failing: retry for the state. A queue that cannot take
    the messages raises QueueUnavailable (the caller's message is retried as a whole)."""
    run = Run.start("catchup", correlation_id, None)
    select = tracked_properties(policy)
    try:
        saved = await links.read_link()
        if saved is None or saved.select != select or not saved.link:
            started = await _start(delta, links, select, saved, run, reason, "no usable link")
            return started
        try:
            found = await delta.user_changes(saved.link)
        except DeltaExpired as expired:
            return await _resync(delta, links, select, saved, run, reason, str(expired), full_run)
        ids = list(dict.fromkeys((*found.changed, *found.removed)))
        messages = work.users_messages(ids, cause="catchup", correlation_id=run.correlation_id)
        for message in messages:
            await queue.send(work.encode(message))
        raced = await _save(links, found.delta_link, select, saved.version)
    except DirectoryError as error:
        run.audit("failure", action="catchup", reason=str(error), status=error.status)
        return CatchupResult(
            "skipped", Outcome.retry_later("directory", str(error)), 0, 0, run.correlation_id
        )
    except StateUnavailable as error:
        run.audit("failure", action="catchup", reason=str(error))
        return CatchupResult(
            "skipped", Outcome.retry_later("state", str(error)), 0, 0, run.correlation_id
        )
    run.audit(
        "catchup",
        action="caught-up",
        reason=reason,
        users=len(ids),
        removed=len(found.removed),
        messages=len(messages),
        pages=found.pages,
        raced=raced,
    )
    return CatchupResult(
        "caught-up", Outcome.done(), len(ids), len(messages), run.correlation_id, raced
    )


async def _start(
    delta: DeltaSource,
    links: DeltaLinkStore,
    select: tuple[str, ...],
    saved: SavedLink | None,
    run: Run,
    reason: str,
    why: str,
) -> CatchupResult:
    link = await delta.latest_delta_link(select)
    raced = await _save(links, link, select, saved.version if saved else None)
    run.audit("catchup", action="started", reason=reason, note=why, raced=raced)
    return CatchupResult("started", Outcome.done(), correlation_id=run.correlation_id, raced=raced)


async def _resync(
    delta: DeltaSource,
    links: DeltaLinkStore,
    select: tuple[str, ...],
    saved: SavedLink,
    run: Run,
    reason: str,
    why: str,
    full_run: FullRun,
) -> CatchupResult:
    """A new link first, then the full run: a change made during the run is in the link."""
    link = await delta.latest_delta_link(select)
    raced = await _save(links, link, select, saved.version)
    run.audit("catchup", action="resync", reason=reason, note=why, raced=raced)
    outcome = await full_run(run.correlation_id)
    return CatchupResult("resynced", outcome, correlation_id=run.correlation_id, raced=raced)


async def _save(
    links: DeltaLinkStore, link: str, select: tuple[str, ...], version: str | None
) -> bool:
    """Save the link; True when another catch-up had saved one first (theirs stays)."""
    try:
        await links.write_link(link, select, version)
    except StateConflict:
        return True
    return False

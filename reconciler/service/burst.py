"""Burst coalescing: when thousands of users changed at once (an HR import), one set-based
pass over the managed groups (the full run's paged listing with `$select`) costs a fraction
of the per-user reads (bench/bench_burst.py).

A queue worker that finds the backlog at `BURST_USERS` or more runs the tenant's one pass:
it claims the pass row in the state table under its ETag (so concurrent workers run it
once), reconciles every managed group as the full run does (guard, removal budget and holds
included), and records when the pass started. A message is *covered* by a pass that started
after its change could be read: after it was enqueued, or for a recheck after it became
visible. A covered message completes without reading anything; one that a running pass will
cover waits (it is queued again, as for a storage outage); anything else takes the per-user
path, so coalescing never decides on older data than the per-user path would.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from reconciler.directory import Directory
from reconciler.policy import Policy
from reconciler.service.full import reconcile_all
from reconciler.service.report import RunReport
from reconciler.settings import Settings
from reconciler.state import BurstPass, StateConflict, StateStore
from reconciler.work import message as work

STALE_AFTER = timedelta(minutes=15)
"""A claim older than this is from a worker that died (the host's timeout is 10 minutes)."""
CLAIM_ATTEMPTS = 3

Action = Literal["covered", "waiting", "passed"]


@dataclass(frozen=True, slots=True)
class BurstResult:
    action: Action
    report: RunReport | None = None  # the pass's, when this worker ran it


_last_seen_start: dict[tuple[str, str], datetime] = {}
"""Per state store (connection, table prefix), the latest pass start this process has seen:
the tail of a burst (a backlog below the threshold again) is covered by it without a read."""


def in_burst(message: work.UsersMessage, backlog_messages: int, threshold: int) -> bool:
    """The backlog's users, estimated from its message count and this message's size."""
    if threshold <= 0:
        return False
    users = len(message.user_ids)
    return users + backlog_messages * users >= threshold


def known_covered(message: work.UsersMessage, settings: Settings) -> bool:
    """Covered by a pass this process already knows of (no I/O)."""
    seen = _last_seen_start.get(_store_key(settings))
    return seen is not None and seen >= readable_since(message, settings)


def readable_since(message: work.UsersMessage, settings: Settings) -> datetime:
    """A pass must start after this to see the message's change (a recheck asks for its
    delayed look, not for the notification's moment)."""
    delay = settings.recheck_delay_seconds if message.cause == "recheck" else 0.0
    return message.enqueued_at + timedelta(seconds=delay)


async def coalesce(
    message: work.UsersMessage,
    directory: Directory,
    policy: Policy,
    settings: Settings,
    state: StateStore,
    *,
    now: datetime | None = None,
) -> BurstResult | None:
    """Cover the message by the tenant's pass, run that pass, or (None) leave the message to
    the per-user path."""
    need = readable_since(message, settings)
    owner = uuid.uuid4().hex
    for _ in range(CLAIM_ATTEMPTS):
        seen = await state.burst_pass()
        _remember(settings, seen.last_started_at)
        started = now or datetime.now(UTC)
        if seen.last_started_at is not None and seen.last_started_at >= need:
            return BurstResult("covered")
        running_since = _running_since(seen, started)
        if running_since is not None:
            return BurstResult("waiting") if running_since >= need else None
        try:
            claimed = await state.claim_burst_pass(seen, owner, started)
        except StateConflict:
            continue  # another worker claimed or finished: look again
        return BurstResult(
            "passed", await _run_pass(message, directory, policy, settings, state, claimed)
        )
    return None


async def _run_pass(
    message: work.UsersMessage,
    directory: Directory,
    policy: Policy,
    settings: Settings,
    state: StateStore,
    claimed: BurstPass,
) -> RunReport:
    completed = False
    try:
        report = await reconcile_all(
            directory,
            policy,
            settings,
            cause="burst",
            correlation_id=message.correlation_id,
            state=state,
        )
        # Held groups were judged on fresh data too; only a retry means the pass saw less.
        completed = report.outcome.kind != "retry"
        if completed:
            _remember(settings, claimed.running_since)
        return report
    finally:
        # Taken over as stale meanwhile (a conflict): the newer claim records its own pass.
        with contextlib.suppress(StateConflict):
            await state.finish_burst_pass(claimed, completed)


def _running_since(seen: BurstPass, now: datetime) -> datetime | None:
    """When the pass in progress started; None if none runs (or its worker died)."""
    if seen.running_since is None or now - seen.running_since >= STALE_AFTER:
        return None
    return seen.running_since


def _store_key(settings: Settings) -> tuple[str, str]:
    account = settings.storage_connection or settings.storage_account_name
    return (account or settings.storage_table_uri, settings.state_table_prefix)


def _remember(settings: Settings, started: datetime | None) -> None:
    key = _store_key(settings)
    if started is not None and (key not in _last_seen_start or started > _last_seen_start[key]):
        _last_seen_start[key] = started

"""The queue worker's job: one work-queue message in, converged memberships out.

Level-triggered (DESIGN.md principle 1): a message only names users, groups or a maintenance
action; the worker reads the current state and converges, so duplicates, reordering and
retries are harmless. Each job returns a typed `Outcome` and `settle` maps it to the host's
queue semantics: return to complete the message, raise `RetryLater` so the host retries it
(and after maxDequeueCount moves it to the poison queue); a message that can never be decoded
is copied to the poison queue at once. No error text is ever parsed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from reconciler.directory import DirectoryError
from reconciler.service.outcome import Outcome
from reconciler.settings import Settings
from reconciler.structured_log import log_json
from reconciler.telemetry.messages import observed_message
from reconciler.work import message as work
from reconciler.work.storage import QueueUnavailable

if TYPE_CHECKING:
    from reconciler.policy import Policy

    # Membership jobs and maintenance (upkeep, catch-up) run against one directory.
    from reconciler.service.lifecycle import MaintenanceDirectory as WorkerDirectory
    from reconciler.state import StateStore

log = logging.getLogger("reconciler.worker")
DONE = Outcome.done()


DirectoryFactory = Callable[[Settings], AbstractAsyncContextManager["WorkerDirectory"]]
StateFactory = Callable[[Settings], AbstractAsyncContextManager["StateStore"]]


class WorkQueue(Protocol):
    """Raises QueueUnavailable when storage cannot take the message."""

    async def send(self, text: str, *, delay_seconds: int = 0) -> None: ...
    async def send_to_poison(self, text: str) -> None: ...
    async def backlog(self) -> int:
        """Messages waiting, visible or not (an estimate; 0 when unknown)."""
        ...


class RetryLater(RuntimeError):
    """A transient failure (Graph unreachable, throttled past our retries, a write that did
    not land): the message goes back to the queue for the host to retry."""


@dataclass(frozen=True, slots=True)
class WorkerOutcome:
    """What became of one message: `kind` is users / group / maintenance, or poisoned /
    waiting (re-queued until the state store is back); `outcome` is the job's own."""

    kind: str
    exit_code: int = 0
    detail: str = ""
    outcome: Outcome = DONE


async def process_message(
    text: str,
    settings: Settings,
    queue: WorkQueue,
    directory_factory: DirectoryFactory | None = None,
    state_factory: StateFactory | None = None,
) -> WorkerOutcome:
    """Run the job a message names and answer the host: return to complete it, raise
    RetryLater to have it retried. Only the job's typed outcome decides which."""
    try:
        message = work.decode(text)
    except work.MessageError as error:
        await queue.send_to_poison(text)
        _record(logging.ERROR, "poisoned", reason=str(error), size=len(text))
        return WorkerOutcome("poisoned", detail=str(error))
    from reconciler.state import StateUnavailable

    factory = directory_factory or _graph_directory
    with _observed(message):
        try:
            async with (
                factory(settings) as directory,
                (state_factory or _table_state)(settings) as state,
            ):
                done = await _run(message, directory, settings, state, queue)
        except DirectoryError as error:  # opening the directory, or a call no job caught
            retry = Outcome.retry_later("directory", str(error))
            done = WorkerOutcome(_kind(message), outcome=retry)
        except StateUnavailable as error:
            done = WorkerOutcome(_kind(message), outcome=Outcome.retry_later("state", str(error)))
        return await settle(message, text, done, settings, queue)


async def settle(
    message: work.Message,
    text: str,
    done: WorkerOutcome,
    settings: Settings,
    queue: WorkQueue,
) -> WorkerOutcome:
    """Map a job's outcome to the host. Retry for the directory: raise (the host retries,
    then poisons after maxDequeueCount). Retry for the state store (or for a running burst
    pass to finish): a fresh copy after RECHECK_DELAY_SECONDS, so a storage outage does not
    use up the dequeue count. Failed:
    complete with an error record (a retry would fail the same way; the next full run, or a
    re-sent message once the cause is fixed, repairs it). Done or held: complete, and a
    notification schedules its one recheck."""
    outcome = done.outcome
    correlation = f"(correlation {message.correlation_id})"
    if outcome.retry == "directory":
        raise RetryLater(f"a Graph read or write failed: {outcome.reason} {correlation}")
    if outcome.retry in ("state", "pass"):
        try:
            await queue.send(text, delay_seconds=max(1, int(settings.recheck_delay_seconds)))
        except QueueUnavailable as unavailable:
            raise RetryLater(f"{unavailable} {correlation}") from None
        _record(
            logging.WARNING,
            f"waiting-for-{outcome.retry}",
            reason=outcome.reason,
            correlationId=message.correlation_id,
        )
        return WorkerOutcome("waiting", done.exit_code, outcome.reason, outcome)
    if outcome.kind == "failed":
        _record(
            logging.ERROR, "failed", reason=outcome.reason, correlationId=message.correlation_id
        )
    if isinstance(message, work.UsersMessage) and message.cause == "notification":
        # Graph is eventually consistent: look again later, once (INTERFACES.md).
        recheck = work.users_messages(
            message.user_ids, cause="recheck", correlation_id=message.correlation_id
        )
        try:
            for follow_up in recheck:
                await queue.send(
                    work.encode(follow_up), delay_seconds=int(settings.recheck_delay_seconds)
                )
        except QueueUnavailable as error:
            # Without its recheck a late Graph replica could go unseen: run it all again later.
            raise RetryLater(f"{error} {correlation}") from error
    return done


async def _run(
    message: work.Message,
    directory: WorkerDirectory,
    settings: Settings,
    state: StateStore,
    queue: WorkQueue,
) -> WorkerOutcome:
    from reconciler.plan.selection import select_groups
    from reconciler.service import reconcile_groups, reconcile_users
    from reconciler.settings import rules_file

    if isinstance(message, work.MaintenanceMessage):
        from reconciler.service.lifecycle import maintain

        outcome = await maintain(message, directory, settings, state, queue, _policy(rules_file()))
        return WorkerOutcome("maintenance", detail=message.action, outcome=outcome)
    policy = _policy(rules_file())
    if isinstance(message, work.UsersMessage):
        coalesced = await _coalesced(message, directory, policy, settings, state, queue)
        if coalesced is not None:
            return coalesced
        report = await reconcile_users(
            directory,
            policy,
            settings,
            list(message.user_ids),
            message.cause,
            correlation_id=message.correlation_id,
            state=state,
        )
    else:
        selection = select_groups(policy, message.group_ids)
        wanted = [g.id for g in selection.groups if g.ok]
        unmanaged = [*selection.unknown, *(g.id for g in selection.groups if not g.ok)]
        if unmanaged:
            _record(logging.WARNING, "unmanaged-groups", groups=unmanaged)
        if not wanted:
            return WorkerOutcome("group", detail="no managed group named")
        report = await reconcile_groups(
            directory,
            policy,
            settings,
            wanted,
            cause=message.cause,
            correlation_id=message.correlation_id,
            state=state,
        )
    return WorkerOutcome(_kind(message), report.exit_code, outcome=report.outcome)


async def _coalesced(
    message: work.UsersMessage,
    directory: WorkerDirectory,
    policy: Policy,
    settings: Settings,
    state: StateStore,
    queue: WorkQueue,
) -> WorkerOutcome | None:
    """In a burst (BURST_USERS), the tenant's one set-based pass instead of per-user reads;
    None for the per-user path (no burst, or the pass cannot cover this message)."""
    from reconciler.service.burst import coalesce, in_burst, known_covered
    from reconciler.state import StateUnavailable

    if settings.burst_users > 0 and known_covered(message, settings):
        return WorkerOutcome("users", detail="covered by a burst pass", outcome=DONE)
    if not in_burst(message, await queue.backlog(), settings.burst_users):
        return None
    try:
        result = await coalesce(message, directory, policy, settings, state)
    except StateUnavailable:
        return None  # no pass without its row; the per-user path still adds
    if result is None:
        return None
    if result.report is not None:  # this worker ran the pass
        return WorkerOutcome("burst", result.report.exit_code, outcome=result.report.outcome)
    if result.action == "waiting":
        waiting = Outcome.retry_later("pass", "a burst pass that covers it is running")
        return WorkerOutcome("users", detail="waiting for the burst pass", outcome=waiting)
    return WorkerOutcome("users", detail="covered by a burst pass", outcome=DONE)


def _observed(message: work.Message) -> AbstractContextManager[None]:
    """The message's span in its notification's trace, and where its write lag starts."""
    items: Sequence[str] = ()
    if isinstance(message, work.UsersMessage):
        items = message.user_ids
    elif isinstance(message, work.GroupMessage):
        items = message.group_ids
    return observed_message(
        _kind(message), message.cause, message.correlation_id, message.enqueued_at, len(items)
    )


def _kind(message: work.Message) -> str:
    return type(message).__name__.removesuffix("Message").lower()


def _graph_directory(settings: Settings) -> AbstractAsyncContextManager[WorkerDirectory]:
    from reconciler.graph import shared_directory

    return shared_directory(settings)


def _table_state(settings: Settings) -> AbstractAsyncContextManager[StateStore]:
    from reconciler.state.tables import shared_state

    return shared_state(settings)


_POLICIES: dict[tuple[str, int], Policy] = {}


def _policy(path: Path) -> Policy:
    """The rules file, parsed again only when it changes (every message would re-read it)."""
    from reconciler.policy import load_policy

    try:
        key = (str(path), path.stat().st_mtime_ns)
    except OSError:
        return load_policy(path)  # reports the missing file as a problem
    if key not in _POLICIES:
        _POLICIES.clear()
        _POLICIES[key] = load_policy(path)
    return _POLICIES[key]


def _record(level: int, event: str, **fields: object) -> None:
    log_json(log, level, {"event": event, **fields})

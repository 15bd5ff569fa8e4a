"""The queue worker's job: one work-queue message in, converged memberships out.

Level-triggered (DESIGN.md principle 1): a message only names users, groups or a maintenance
action; the worker reads the current state and converges, so duplicates, reordering and
retries are harmless. Outcomes map to the host's queue semantics: return to complete the
message, raise `RetryLater` so the host retries it (and after maxDequeueCount moves it to the
poison queue); a message that can never succeed is copied to the poison queue at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from reconciler import queue as work
from reconciler.directory import Directory, DirectoryError
from reconciler.settings import Settings
from reconciler.work_queue import QueueUnavailable

if TYPE_CHECKING:
    from reconciler.policy import Policy
    from reconciler.state import StateStore

log = logging.getLogger("reconciler.worker")
DirectoryFactory = Callable[[Settings], AbstractAsyncContextManager[Directory]]
StateFactory = Callable[[Settings], AbstractAsyncContextManager["StateStore"]]


class WorkQueue(Protocol):
    """Raises QueueUnavailable when storage cannot take the message."""

    async def send(self, text: str, *, delay_seconds: int = 0) -> None: ...
    async def send_to_poison(self, text: str) -> None: ...


class WaitForState(RuntimeError):
    """Only the state store failed: removals were withheld (adds done). The message goes back
    as a fresh copy after RECHECK_DELAY_SECONDS, so a storage outage does not use up its
    dequeue count and send it to the poison queue."""


class RetryLater(RuntimeError):
    """A transient failure (Graph unreachable, throttled past our retries, a write that did
    not land): the message goes back to the queue for the host to retry."""


@dataclass(frozen=True, slots=True)
class WorkerOutcome:
    kind: str  # users / group / maintenance / poisoned
    exit_code: int = 0
    detail: str = ""


async def process_message(
    text: str,
    settings: Settings,
    queue: WorkQueue,
    directory_factory: DirectoryFactory | None = None,
    state_factory: StateFactory | None = None,
) -> WorkerOutcome:
    try:
        message = work.decode(text)
    except work.MessageError as error:
        await queue.send_to_poison(text)
        _record(logging.ERROR, "poisoned", reason=str(error), size=len(text))
        return WorkerOutcome("poisoned", detail=str(error))
    from reconciler.state import StateUnavailable

    factory = directory_factory or _graph_directory
    try:
        async with (
            factory(settings) as directory,
            (state_factory or _table_state)(settings) as state,
        ):
            outcome = await _run(message, directory, settings, state)
    except (DirectoryError, StateUnavailable) as error:
        raise RetryLater(f"{error} (correlation {message.correlation_id})") from error
    except WaitForState as error:
        try:
            await queue.send(text, delay_seconds=max(1, int(settings.recheck_delay_seconds)))
        except QueueUnavailable as unavailable:
            raise RetryLater(f"{unavailable} (correlation {message.correlation_id})") from error
        _record(
            logging.WARNING,
            "waiting-for-state",
            reason=str(error),
            correlationId=message.correlation_id,
        )
        return WorkerOutcome("waiting", detail=str(error))
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
            raise RetryLater(f"{error} (correlation {message.correlation_id})") from error
    return outcome


async def _run(
    message: work.Message, directory: Directory, settings: Settings, state: StateStore
) -> WorkerOutcome:
    from reconciler.service import reconcile_groups, reconcile_users
    from reconciler.settings import rules_file

    if isinstance(message, work.MaintenanceMessage):
        from reconciler.service import renew_or_reauthorize

        await renew_or_reauthorize(directory, settings, message.subscription_id)
        return WorkerOutcome("maintenance", detail=message.action)
    policy = _policy(rules_file())
    if isinstance(message, work.UsersMessage):
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
        known = {g.id for g in policy.usable_groups}
        wanted = [g for g in message.group_ids if g.lower() in known]
        if len(wanted) < len(message.group_ids):
            _record(
                logging.WARNING,
                "unmanaged-groups",
                groups=[g for g in message.group_ids if g.lower() not in known],
            )
        if not wanted:
            return WorkerOutcome("group", detail="no managed group named")
        report = await reconcile_groups(
            directory,
            policy,
            settings,
            [g.lower() for g in wanted],
            cause=message.cause,
            correlation_id=message.correlation_id,
            state=state,
        )
    if report.waits_for_state:
        raise WaitForState(f"the state store is unavailable (correlation {message.correlation_id})")
    if report.retryable:
        raise RetryLater(f"a Graph read or write failed (correlation {message.correlation_id})")
    return WorkerOutcome(type(message).__name__.removesuffix("Message").lower(), report.exit_code)


def _graph_directory(settings: Settings) -> AbstractAsyncContextManager[Directory]:
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
    log.log(level, json.dumps({"event": event, **fields}, ensure_ascii=False))

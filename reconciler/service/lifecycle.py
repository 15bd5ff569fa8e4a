"""Lifecycle events acted on now, and the catch-up wired to its real parts.

The webhook only queues a maintenance message (it must answer Graph within 3 seconds); the
worker runs it here:

- `renew-subscription` (reauthorizationRequired): reauthorize and renew (or create it anew if
  Graph no longer has it), then catch up: Graph may have paused delivery until now, and
  changes made during a pause are lost (graph-facts.md §4: "resync with a delta query").
- `recreate-subscription` (subscriptionRemoved): make sure our subscription exists (creating
  it, through the same upkeep the timer runs), then catch up. In that order: a change made
  after the catch-up read its round is notified by the new subscription.
- `catch-up` (missed): catch up.

`run_catchup` gives reconciler.service.catchup its parts: the directory (GraphDirectory reads
`/users/delta`), the delta-link row in the state tables, the work queue, and a full
reconciliation for a delta link Graph no longer honours.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Protocol

from reconciler.directory import Directory
from reconciler.service.catchup import CatchupResult, DeltaSource, Sender, catch_up
from reconciler.service.outcome import Outcome
from reconciler.service.subscription import SubscriptionDirectory, upkeep
from reconciler.settings import Settings
from reconciler.work import message as work

if TYPE_CHECKING:
    from reconciler.policy import Policy
    from reconciler.state import StateStore


class MaintenanceDirectory(Directory, SubscriptionDirectory, DeltaSource, Protocol):
    """Maintenance needs all of one directory: subscription upkeep, the delta read of a
    catch-up, and the full run a lost delta link falls back on (GraphDirectory is all three)."""


async def maintain(
    message: work.MaintenanceMessage,
    directory: MaintenanceDirectory,
    settings: Settings,
    state: StateStore | None,
    queue: Sender,
    policy: Policy,
) -> Outcome:
    """Carry out one maintenance message (see the module); the outcome decides retries."""
    if message.action == "catch-up":
        result = await run_catchup(
            settings, policy, "missed", message.correlation_id, directory, state, queue
        )
        return result.outcome
    recreate = message.action == "recreate-subscription"
    subscription_id = None if recreate else message.subscription_id
    done = await upkeep(
        directory,
        settings,
        subscription_id,
        cause="lifecycle",
        correlation_id=message.correlation_id,
    )
    if done.outcome.kind != "done":
        return done.outcome
    reason = "subscriptionRemoved" if recreate else "reauthorizationRequired"
    result = await run_catchup(
        settings, policy, reason, message.correlation_id, directory, state, queue
    )
    return result.outcome


async def run_catchup(
    settings: Settings,
    policy: Policy,
    reason: str,
    correlation_id: str | None = None,
    directory: MaintenanceDirectory | None = None,
    state: StateStore | None = None,
    queue: Sender | None = None,
) -> CatchupResult:
    """A catch-up with the parts given, opening what is not: a Graph directory, the state
    store (for the full run a lost delta link needs), the work queue; the delta-link row
    always from the settings' storage account."""
    from reconciler.state.delta_link import shared_delta_links

    async with AsyncExitStack() as opened:
        if directory is None:
            from reconciler.graph import open_directory

            directory = await opened.enter_async_context(open_directory(settings))
        if state is None:
            from reconciler.state.tables import shared_state

            state = await opened.enter_async_context(shared_state(settings))
        if queue is None:
            from reconciler.work.storage import StorageWorkQueue

            queue = StorageWorkQueue.from_settings(settings)
        links = await opened.enter_async_context(shared_delta_links(settings))
        source, store = directory, state

        async def full_run(run_correlation_id: str) -> Outcome:
            from reconciler.service import reconcile_all

            report = await reconcile_all(
                source,
                policy,
                settings,
                cause="catchup",
                correlation_id=run_correlation_id,
                state=store,
            )
            return report.outcome

        return await catch_up(
            source,
            links,
            queue,
            policy,
            full_run,
            reason=reason,
            correlation_id=correlation_id,
        )

"""One run's context: cause, correlation id, progress, and its audit records."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from reconciler.audit import Event, audit
from reconciler.directory import Directory
from reconciler.plan import GroupPlan
from reconciler.service.report import RunReport

Progress = Callable[[str, int, int | None], None]
"""progress(stage, done, total): "groups" read, "users" listed, "writes" (groups written)."""


@dataclass(slots=True)
class Run:
    """Who asked and under which correlation id: every audit record of a run carries both."""

    cause: str
    correlation_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    progress: Progress | None = None
    started: float = field(default_factory=time.monotonic)
    approved_by: str = ""

    @classmethod
    def start(cls, cause: str, correlation_id: str | None, progress: Progress | None) -> Run:
        return cls(cause, correlation_id or uuid.uuid4().hex, progress)

    def audit(self, event: Event, **fields: object) -> None:
        if self.approved_by:
            fields["approvedBy"] = self.approved_by
        audit(event, cause=self.cause, correlation_id=self.correlation_id, **fields)  # type: ignore[arg-type]  # group/user/action/reason arrive in fields as str

    def step(self, stage: str, done: int, total: int | None = None) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def report_plan(self, plan: GroupPlan) -> None:
        """The records a plan gives before any write: group errors, undecided users, a hold."""
        for error in plan.errors:
            self.audit("failure", group=plan.group_id, reason=error)
        for user in plan.undecided:
            self.audit("undecided", group=plan.group_id, user=user.user_id, reason=user.reason)
        if plan.held:
            guard = plan.guard
            self.audit(
                "hold",
                group=plan.group_id,
                reason="; ".join(guard.reasons),
                removals=guard.removals,
                adds=len(plan.adds),
                members=guard.members,
                maxRemovalPercent=guard.max_removal_percent,
                removalFloor=guard.removal_floor,
                usersListed=guard.users_listed,
                minExpectedUsers=guard.min_expected_users,
                holdId=plan.hold_id or None,
            )


async def bounded(jobs: Iterable[Awaitable[object]], limit: int, run: Run, stage: str) -> None:
    """Await the jobs, at most `limit` at a time, reporting progress as each finishes."""
    jobs = list(jobs)
    gate = asyncio.Semaphore(limit)
    done = 0

    async def one(job: Awaitable[object]) -> None:
        nonlocal done
        async with gate:
            await job
        done += 1
        run.step(stage, done, len(jobs))

    await asyncio.gather(*(one(job) for job in jobs))


def request_counts(directory: Directory) -> dict[str, int]:
    """Graph requests by kind, when the directory counts them (an optional attribute)."""
    counter = getattr(directory, "request_counts", None)
    return dict(counter()) if callable(counter) else {}


def finish_run(run: Run, report: RunReport) -> None:
    """The summary record that ends every run: counts per group, requests, duration."""
    summary = report.summary()
    del summary["cause"], summary["correlationId"]
    run.audit("summary", perGroup=report.per_group_counts(), **summary)

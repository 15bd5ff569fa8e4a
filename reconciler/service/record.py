"""After a run: its changes into the history, and what it learnt into each group's state.

Best effort by design: the memberships are already right (or retried), so a store that is down
here costs history rows and status freshness, never a membership; it is logged as a failure.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from reconciler.service.report import GroupResult, RunReport
from reconciler.service.run import Run
from reconciler.state import GroupStateStore, GroupStateUpdate, HistoryEntry, StateUnavailable


async def record_run(
    state: GroupStateStore,
    report: RunReport,
    run: Run,
    now: datetime,
    *,
    full: bool = False,
    history_days: int = 30,
) -> None:
    """One history row per change written; per group: last change, last error, and for a
    full run the reconcile's time, result, counts, duration and member count."""
    entries = [entry for result in report.groups for entry in _entries(result, run, now)]
    updates = [_update(result, report, now, full) for result in report.groups]
    try:
        await state.append_history(entries)
        await state.update_groups([u for u in updates if u is not None])
        if full:
            await state.purge_history(now - timedelta(days=history_days))
    except StateUnavailable as error:
        run.audit("failure", action="state.record", reason=str(error), historyRows=len(entries))


def _entries(result: GroupResult, run: Run, now: datetime) -> list[HistoryEntry]:
    """Changes written only: a held removal is not a change (its hold keeps it, with the
    reason), so rechecks of held users add no rows."""
    return [
        HistoryEntry(
            now,
            c.group_id,
            c.user_id,
            c.action,
            "done",
            c.reason,
            run.cause,
            run.correlation_id,
            run.approved_by,
        )
        for c in result.written
    ]


def _update(
    result: GroupResult, report: RunReport, now: datetime, full: bool
) -> GroupStateUpdate | None:
    plan = result.plan
    errors = result.errors
    if not (full or result.written or errors):
        return None
    update = GroupStateUpdate(
        plan.group_id,
        name=plan.name or None,
        last_change_at=now if result.written else None,
        last_error="; ".join(errors)[:4000] if errors else ("" if full else None),
        last_error_at=now if errors else None,
    )
    if not full:
        return update
    members = None
    if plan.members is not None:
        added = sum(c.action == "add" for c in result.written)
        members = plan.members + added - (len(result.written) - added)
    counts = {
        "adds": len(plan.adds),
        "removes": len(plan.removes),
        "written": len(result.written),
        "deferred": len(plan.deferred),
        "failed": len(result.failures),
    }
    return replace(
        update,
        members=members,
        last_full_at=now,
        last_full_result=result.status,
        last_full_counts=counts,
        last_full_seconds=round(report.duration_seconds, 3),
        last_full_correlation_id=report.correlation_id,
    )

"""Carry out one group's plan against the directory, logging every change, hold and failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from reconciler.directory import Directory, DirectoryError, WriteOutcome
from reconciler.plan import GroupPlan, MembershipChange
from reconciler.service.report import GroupResult, WriteFailure
from reconciler.service.run import Run


async def apply_plan(
    directory: Directory, plan: GroupPlan, run: Run, *, dry_run: bool
) -> GroupResult:
    """Write a plan unless it is held, paused or a dry run; failures are recorded per user."""
    run.report_plan(plan)
    for change in plan.deferred:
        _audit_change(run, change, "held" if plan.hold_id else "withheld", holdId=plan.hold_id)
    if not plan.writable or dry_run:
        result = "held" if plan.held else "paused" if plan.paused else "planned"
        for change in plan.changes:
            _audit_change(run, change, result)
        return GroupResult(plan, dry_run=dry_run)
    written: list[MembershipChange] = []
    failures: list[WriteFailure] = []
    for changes, write in (
        (plan.adds, directory.add_members),
        (plan.removes, directory.remove_members),
    ):
        if changes:
            done, failed = await _write(plan.group_id, changes, write, run)
            written += done
            failures += failed
    return GroupResult(plan, dry_run=False, written=tuple(written), failures=tuple(failures))


async def _write(
    group_id: str,
    changes: Sequence[MembershipChange],
    write: Callable[[str, Sequence[str]], Awaitable[WriteOutcome]],
    run: Run,
) -> tuple[list[MembershipChange], list[WriteFailure]]:
    try:
        outcome = await write(group_id, [c.user_id for c in changes])
        done, failed = set(outcome.done), dict(outcome.failed)
    except DirectoryError as error:
        done, failed = set(), {c.user_id: str(error) for c in changes}
    written, failures = [], []
    for change in changes:
        if change.user_id in done and change.user_id not in failed:
            written.append(change)
            _audit_change(run, change, "done")
            continue
        reason = failed.get(change.user_id, "the directory reported no result for this user")
        failures.append(WriteFailure(group_id, change.user_id, change.action, reason))
        run.audit(
            "failure",
            group=group_id,
            user=change.user_id,
            action=change.action,
            reason=change.reason,
            error=reason,
        )
    return written, failures


def _audit_change(run: Run, change: MembershipChange, result: str, **details: object) -> None:
    run.audit(
        "change",
        group=change.group_id,
        user=change.user_id,
        action=change.action,
        reason=change.reason,
        result=result,
        **{k: v for k, v in details.items() if v},
    )

"""An operator's decision on a hold: approve (re-read the users, remove only those the rules
still remove) or reject (drop it; its users are held again by the next run that wants them)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from reconciler.directory import Directory
from reconciler.plan import GuardLimits, GuardVerdict, Planner
from reconciler.plan.blocking import unwritable
from reconciler.plan.membership import direct_groups
from reconciler.policy import ManagedGroup, Policy
from reconciler.rules import Rule, RuleSet
from reconciler.service.record import record_run
from reconciler.service.report import GroupResult, RunReport
from reconciler.service.run import Run, finish_run, request_counts
from reconciler.service.writes import apply_plan
from reconciler.settings import Settings
from reconciler.state import HoldError, HoldStore, StateStore
from reconciler.state.model import Hold


async def approve_hold(
    directory: Directory,
    policy: Policy,
    settings: Settings,
    state: StateStore,
    hold_id: str,
    *,
    by: str,
    correlation_id: str | None = None,
) -> tuple[Hold, RunReport]:
    """Remove the held users the rules still remove now (never a stale decision): users whose
    attributes changed back, or who are no longer members, are kept. The budget is not
    spent: the approval is the operator's release. Every change is audited with `approvedBy`.

    If a write fails the hold stays `approving` and the report says so (approve it again to
    finish). Raises HoldError (no such hold, decided, group not usable) or DirectoryError."""
    if not by.strip():
        raise HoldError("say who approves (--by NAME): approvals are audited")
    if settings.dry_run:
        raise HoldError("DRY_RUN is on: nothing would be removed; approve without it")
    now = datetime.now(UTC)
    group, rule = _usable_group(policy, await state.hold(hold_id))
    hold = await state.begin_approval(hold_id, by, now)
    run = Run.start("approval", correlation_id, None)
    run.approved_by = by
    ruleset = RuleSet({group.id: rule})
    found = await directory.users(
        list(hold.user_ids), ruleset.select, manager=ruleset.needs_manager, member_of=True
    )
    users = {user_id: user for user_id, user in found.items() if user is not None}
    memberships = {user_id: direct_groups(user, {group.id}) for user_id, user in users.items()}
    planner = Planner([group], ruleset, memberships, listing_complete=False, now=now)
    for user in users.values():
        planner.see(user)
    [plan] = planner.finish(GuardLimits(allow_mass_removal=True))
    held = set(hold.user_ids)
    plan = replace(
        plan,
        adds=(),
        removes=tuple(c for c in plan.removes if c.user_id in held),
        guard=GuardVerdict.clear(),
    )
    if plan.removes:
        refusal = unwritable((await directory.find_groups([group.id])).get(group.id))
        if refusal:
            raise HoldError(f"group {group.id}: {refusal}; the hold stays approving")
    result = await apply_plan(directory, plan, run, dry_run=False)
    report = _report(run, result, len(users), directory)
    if not result.failures:
        removed = [c.user_id for c in result.written]
        kept = [u for u in hold.user_ids if u not in set(removed)]
        hold = await state.finish_approval(hold, removed, kept, now)
        run.audit(
            "hold",
            group=group.id,
            action="approve",
            reason=f"approved by {by}",
            holdId=hold.id,
            removed=len(removed),
            kept=len(kept),
        )
    await record_run(state, report, run, now)
    finish_run(run, report)
    return hold, report


async def reject_hold(
    state: HoldStore, hold_id: str, *, by: str, correlation_id: str | None = None
) -> Hold:
    """Drop a pending hold: nobody is removed; its users stay remembered as rejected."""
    if not by.strip():
        raise HoldError("say who rejects (--by NAME): decisions are audited")
    hold = await state.reject(hold_id, by, datetime.now(UTC))
    Run.start("approval", correlation_id, None).audit(
        "hold",
        group=hold.group_id,
        action="reject",
        reason=f"rejected by {by}",
        holdId=hold.id,
        users=len(hold.removals),
        rejectedBy=by,
    )
    return hold


def _usable_group(policy: Policy, hold: Hold) -> tuple[ManagedGroup, Rule]:
    """The hold's group and its compiled rule, or HoldError when the file cannot decide it."""
    group = policy.group(hold.group_id)
    if group is None or group.rule is None or not group.ok:
        raise HoldError(
            f"group {hold.group_id} is not a usable group of {policy.file} (run check); "
            "nothing removed"
        )
    return group, group.rule


def _report(run: Run, result: GroupResult, users_read: int, directory: Directory) -> RunReport:
    return RunReport(
        cause=run.cause,
        correlation_id=run.correlation_id,
        dry_run=False,
        groups=(result,),
        duration_seconds=run.elapsed,
        users_read=users_read,
        requests=request_counts(directory),
    )

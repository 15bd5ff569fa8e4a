"""The incremental run: re-read a few users and fix only their memberships in managed groups."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from reconciler.directory import Directory, DirectoryError
from reconciler.plan import GroupPlan, GuardVerdict, Planner, blocked_plan
from reconciler.plan.model import Fault
from reconciler.policy import Policy
from reconciler.rules import RuleSet
from reconciler.service.budget import budget_limits, member_counter
from reconciler.service.holding import hold_removals
from reconciler.service.record import record_run
from reconciler.service.report import GroupResult, RunReport
from reconciler.service.run import (
    Progress,
    Run,
    finish_run,
    guard_limits,
    request_counts,
    unwritable,
)
from reconciler.service.writes import apply_plan
from reconciler.settings import Settings
from reconciler.state import StateStore

_GROUP_TYPE = "#microsoft.graph.group"


async def reconcile_users(
    directory: Directory,
    policy: Policy,
    settings: Settings,
    user_ids: Iterable[str],
    cause: str,
    correlation_id: str | None = None,
    dry_run: bool = False,
    allow_mass_removal: bool | None = None,
    progress: Progress | None = None,
    state: StateStore | None = None,
) -> RunReport:
    """Read the users with their direct memberships, evaluate every usable managed group's
    rule, and apply only the differences. A user that no longer exists is skipped (Graph
    drops a deleted user's memberships itself). Safe to run twice.

    With a `state` store, removals spend the group's shared removal budget and what it does
    not cover goes into the group's pending hold; adds always go (no per-message guard).
    Without one, the guard judges this run's own numbers only: a group's member count is read
    only when its removals pass REMOVAL_FLOOR. Groups whose rule file entry has errors are
    left out here; `check` and full runs report them.
    """
    run = Run.start(cause, correlation_id, progress)
    dry_run = dry_run or settings.dry_run
    groups = list(policy.usable_groups)
    ids = list(dict.fromkeys(user_id.strip().lower() for user_id in user_ids if user_id.strip()))
    ruleset = RuleSet({g.id: g.rule for g in groups})  # type: ignore[misc]
    try:
        found = await directory.users(
            ids, ruleset.select, manager=ruleset.needs_manager, member_of=True
        )
    except DirectoryError as error:
        reason = f"could not read the users ({error}); no writes"
        plans = [blocked_plan(g.id, g.display_name, g.paused, reason, "directory") for g in groups]
        return await _finish(directory, run, plans, dry_run, users_read=0, skipped=(), state=None)
    users = {str(k).lower(): v for k, v in found.items()}
    run.step("users", len(users), len(ids))

    managed = {g.id for g in groups}
    memberships: dict[str, set[str]] = {}
    present, skipped = [], []
    for user_id in ids:
        user = users.get(user_id)
        if user is None:
            skipped.append(user_id)
            run.audit("skip", user=user_id, reason="the user no longer exists")
            continue
        present.append(user)
        memberships[user_id] = direct_groups(user, managed)
    planner = Planner(groups, ruleset, memberships, listing_complete=False, now=datetime.now(UTC))
    for user in present:
        planner.see(user)

    limits = guard_limits(settings, allow_mass_removal)
    counts: dict[str, int] = {}
    blocked: dict[str, tuple[str, Fault | None]] = {}
    budgeted = state is not None and not dry_run and not limits.allow_mass_removal
    for group_id, removals in planner.removal_counts().items():
        if removals > limits.removal_floor and not budgeted:
            try:
                counts[group_id] = len(await directory.members(group_id))
            except DirectoryError as error:
                reason = f"could not read the group's member count ({error}); no writes"
                blocked[group_id] = (reason, "directory")
    finished = planner.finish(limits, member_counts=counts)
    if budgeted:  # the shared budget replaces this run's own guard (and holds no adds)
        finished = tuple(replace(p, guard=GuardVerdict.clear()) for p in finished)
    changed = [p.group_id for p in finished if p.changes and p.group_id not in blocked]
    if changed:  # checked only for groups that have changes: one bulk read
        try:
            infos = await directory.find_groups(changed)
        except DirectoryError as error:
            infos = {}
            unread: tuple[str, Fault | None] = (
                f"could not read the group ({error}); no writes",
                "directory",
            )
            blocked.update(dict.fromkeys(changed, unread))
        for group_id in changed:
            refusal = unwritable(infos.get(group_id))
            if group_id not in blocked and refusal:
                blocked[group_id] = (refusal, None)
    plans = []
    for plan in finished:
        if plan.group_id in blocked:
            reason, fault = blocked[plan.group_id]
            plans.append(blocked_plan(plan.group_id, plan.name, plan.paused, reason, fault))
        else:
            plans.append(plan)
    if budgeted:
        plans = await hold_removals(
            state,  # type: ignore[arg-type]
            plans,
            {g.id: g for g in groups},
            budget_limits(settings),
            datetime.now(UTC),
            member_count=member_counter(directory),
        )
    return await _finish(
        directory,
        run,
        plans,
        dry_run,
        users_read=len(present),
        skipped=tuple(skipped),
        state=state if not dry_run else None,
    )


def direct_groups(user: dict, managed: set[str] | frozenset[str]) -> set[str]:
    """The managed groups a user read with `member_of=True` is a direct member of."""
    return {
        entry["id"].lower()
        for entry in user.get("memberOf") or ()
        if entry.get("@odata.type", _GROUP_TYPE) == _GROUP_TYPE
        and str(entry.get("id", "")).lower() in managed
    }


async def _finish(
    directory: Directory,
    run: Run,
    plans: list[GroupPlan],
    dry_run: bool,
    *,
    users_read: int,
    skipped: tuple[str, ...],
    state: StateStore | None,
) -> RunReport:
    results: list[GroupResult] = []
    for plan in plans:
        results.append(await apply_plan(directory, plan, run, dry_run=dry_run))
        if plan.changes:
            run.step("writes", len(results), len(plans))
    report = RunReport(
        cause=run.cause,
        correlation_id=run.correlation_id,
        dry_run=dry_run,
        groups=tuple(results),
        duration_seconds=run.elapsed,
        users_read=users_read,
        skipped_users=skipped,
        requests=request_counts(directory),
    )
    if state is not None:
        await record_run(state, report, run, datetime.now(UTC))
    finish_run(run, report)
    return report

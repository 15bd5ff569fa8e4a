"""The incremental run: re-read a few users and fix only their memberships in managed groups.

Read, plan, write: read the users with their direct memberships; plan every usable managed
group for them (a group's member count is read only when the guard needs it); look up the
groups that have changes (refused ones are blocked, as `plan.blocking` judges); let the budget
and holds cut the removals; write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from reconciler.directory import Directory, DirectoryError
from reconciler.plan import GroupPlan, GuardVerdict, Planner
from reconciler.plan.blocking import Reads, blocked_or
from reconciler.plan.membership import direct_groups
from reconciler.policy import ManagedGroup, Policy
from reconciler.rules import RuleSet
from reconciler.service.budget import member_counter
from reconciler.service.full import chosen_groups
from reconciler.service.holding import hold_removals
from reconciler.service.options import RunOptions
from reconciler.service.record import record_run
from reconciler.service.report import GroupResult, RunReport
from reconciler.service.run import Progress, Run, finish_run, request_counts
from reconciler.service.writes import apply_plan
from reconciler.settings import Settings
from reconciler.state import StateStore

Users = dict[str, dict]


async def reconcile_users(
    directory: Directory,
    policy: Policy,
    settings: Settings,
    user_ids: Iterable[str],
    cause: str,
    correlation_id: str | None = None,
    *,
    options: RunOptions | None = None,
    progress: Progress | None = None,
    state: StateStore | None = None,
) -> RunReport:
    """Read the users with their direct memberships, evaluate every usable managed group's
    rule (or the usable ones of `options.group_ids`), and apply only the differences. A user
    that no longer exists is skipped (Graph drops a deleted user's memberships itself). Safe
    to run twice.

    With a `state` store, removals spend the group's shared removal budget and what it does
    not cover goes into the group's pending hold; adds always go (no per-message guard).
    Without one, the guard judges this run's own numbers only: a group's member count is read
    only when its removals pass REMOVAL_FLOOR. Groups whose rule file entry has errors are
    left out here; `check` and full runs report them.
    """
    options = options or RunOptions.from_settings(settings)
    run = Run.start(cause, correlation_id, progress)
    groups = [g for g in chosen_groups(policy, options.group_ids) if g.ok]
    ids = list(dict.fromkeys(user_ids))  # normalised where they entered (object_id.py)
    ruleset = RuleSet({g.id: g.rule for g in groups if g.rule is not None})
    reads = Reads()
    try:
        found = await directory.users(
            ids, ruleset.select, manager=ruleset.needs_manager, member_of=True
        )
    except DirectoryError as error:
        reads.users_failed = str(error)
        plans = [blocked_or(g, reads, None) for g in groups]
        return await _finish(directory, run, plans, options, users_read=0, skipped=(), state=None)
    run.step("users", len(found), len(ids))
    present = _present(ids, found, run)
    budgeted = state is not None and options.spends_budget
    plans = await _plan(directory, groups, ruleset, present, reads, options, budgeted)
    if state is not None and budgeted:
        plans = await hold_removals(
            state,
            plans,
            {g.id: g for g in groups},
            options.budget,
            datetime.now(UTC),
            member_count=member_counter(directory),
        )
    skipped = tuple(user_id for user_id in ids if user_id not in present)
    return await _finish(
        directory,
        run,
        plans,
        options,
        users_read=len(present),
        skipped=skipped,
        state=state if not options.dry_run else None,
    )


def _present(ids: Sequence[str], users: dict[str, dict | None], run: Run) -> Users:
    """The users that still exist, in the order asked; each missing one is audited."""
    present: Users = {}
    for user_id in ids:
        user = users.get(user_id)
        if user is None:
            run.audit("skip", user=user_id, reason="the user no longer exists")
        else:
            present[user_id] = user
    return present


async def _plan(
    directory: Directory,
    groups: Sequence[ManagedGroup],
    ruleset: RuleSet,
    present: Users,
    reads: Reads,
    options: RunOptions,
    budgeted: bool,
) -> list[GroupPlan]:
    """One plan per group for these users; groups with changes are looked up, and blocked
    ones get a blocked plan instead."""
    managed = {g.id for g in groups}
    memberships = {user_id: direct_groups(user, managed) for user_id, user in present.items()}
    planner = Planner(groups, ruleset, memberships, listing_complete=False, now=datetime.now(UTC))
    for user in present.values():
        planner.see(user)
    counts: dict[str, int] = {}
    if not budgeted:  # the shared budget replaces this run's own guard (and holds no adds)
        for group_id, removals in planner.removal_counts().items():
            if removals > options.guard.removal_floor:
                try:
                    counts[group_id] = len(await directory.members(group_id))
                except DirectoryError as error:
                    reads.counts_failed[group_id] = str(error)
    finished = planner.finish(options.guard, member_counts=counts)
    if budgeted:
        finished = tuple(replace(p, guard=GuardVerdict.clear()) for p in finished)
    by_id = {g.id: g for g in groups}
    changed = [p.group_id for p in finished if p.changes and p.group_id not in reads.counts_failed]
    if changed:  # checked only for groups that have changes: one bulk read
        try:
            reads.infos = await directory.find_groups(changed)
        except DirectoryError as error:
            reads.infos_failed = str(error)
    return [blocked_or(by_id[p.group_id], reads, p) if p.changes else p for p in finished]


async def _finish(
    directory: Directory,
    run: Run,
    plans: list[GroupPlan],
    options: RunOptions,
    *,
    users_read: int,
    skipped: tuple[str, ...],
    state: StateStore | None,
) -> RunReport:
    results: list[GroupResult] = []
    for plan in plans:
        results.append(await apply_plan(directory, plan, run, dry_run=options.dry_run))
        if plan.changes:
            run.step("writes", len(results), len(plans))
    report = RunReport(
        cause=run.cause,
        correlation_id=run.correlation_id,
        dry_run=options.dry_run,
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

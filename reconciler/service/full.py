"""The full run: every managed group (or the chosen ones) against one listing of all users.

Read, plan, write: read each chosen group (is it writable, who is in it) and the source
groups of memberOf rules; stream the user listing into the planner; let the budget and holds
cut the removals; write. What blocks a group is judged in one place (`plan.blocking`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from reconciler.directory import Directory, DirectoryError, Member
from reconciler.plan import GroupPlan, Planner, invert_members, member_of_sources
from reconciler.plan.blocking import Reads, blocked_or, unblocked
from reconciler.plan.membership import member_of_index
from reconciler.plan.selection import select_groups
from reconciler.policy import ManagedGroup, Policy
from reconciler.rules import RuleSet
from reconciler.service.budget import member_counter
from reconciler.service.holding import hold_removals
from reconciler.service.options import RunOptions
from reconciler.service.record import record_run
from reconciler.service.report import GroupResult, RunReport
from reconciler.service.run import Progress, Run, bounded, finish_run, request_counts
from reconciler.service.writes import apply_plan
from reconciler.settings import Settings
from reconciler.state import StateStore

CONCURRENCY = 8
"""Groups read or written at once; the directory paces writes under the tenant's quota."""

Members = dict[str, list[Member]]


async def reconcile_all(
    directory: Directory,
    policy: Policy,
    settings: Settings,
    *,
    options: RunOptions | None = None,
    cause: str = "sweep",
    correlation_id: str | None = None,
    progress: Progress | None = None,
    state: StateStore | None = None,
) -> RunReport:
    """Plan (and unless a dry run, a pause or a hold, apply) every chosen group.

    `options` says how the run may act (dry run, guard, groups); without it, what the
    settings say for every managed group. With a `state` store, removals spend the shared
    removal budget (the rest go into the group's pending hold), a group the guard holds is
    stored as a hold, and the run is recorded in the history and the groups' state. Without
    one (unit tests, a CLI with no storage configured) only this run's guard applies.

    A group that cannot be read gets no writes and an error; a failed user listing stops
    every write. Groups asked for must be groups of the policy (ValueError otherwise).
    """
    options = options or RunOptions.from_settings(settings)
    run = Run.start(cause, correlation_id, progress)
    chosen = chosen_groups(policy, options.group_ids)
    reads = Reads()
    members = await _read_groups(directory, chosen, reads, run)
    member_of = await _read_member_of(directory, unblocked(chosen, reads), members, reads, run)
    plans, users_listed = await _plan(
        directory, unblocked(chosen, reads), members, member_of, reads, options, run
    )
    ordered = [blocked_or(group, reads, plans.get(group.id)) for group in chosen]
    now = datetime.now(UTC)
    if state is not None and options.spends_budget:
        ordered = await hold_removals(
            state,
            ordered,
            {g.id: g for g in chosen},
            options.budget,
            now,
            member_count=member_counter(directory),
            known_members={p.group_id: p.members for p in ordered if p.members is not None},
        )
    results = await _write(directory, ordered, options, run)
    report = RunReport(
        cause=run.cause,
        correlation_id=run.correlation_id,
        dry_run=options.dry_run,
        groups=results,
        duration_seconds=run.elapsed,
        users_listed=users_listed,
        users_read=users_listed or 0,
        requests=request_counts(directory),
    )
    if state is not None and not options.dry_run:
        await record_run(state, report, run, now, full=True, history_days=options.history_days)
    finish_run(run, report)
    return report


def chosen_groups(policy: Policy, group_ids: Iterable[str] | None) -> list[ManagedGroup]:
    """The policy's groups with an id (all, or those named, in the file's order)."""
    selection = select_groups(policy, group_ids)
    if selection.unknown:
        raise ValueError(f"not a group of {policy.file}: {', '.join(sorted(selection.unknown))}")
    return list(selection.groups)


async def _read_groups(
    directory: Directory, chosen: Sequence[ManagedGroup], reads: Reads, run: Run
) -> Members:
    """Look the groups up in bulk (refused or missing ones are blocked), then read the
    members of those still unblocked."""
    usable = unblocked(chosen, reads)
    try:
        reads.infos = await directory.find_groups([g.id for g in usable])
    except DirectoryError as error:
        reads.infos_failed = str(error)
    members: Members = {}

    async def read(group: ManagedGroup) -> None:
        try:
            members[group.id] = await directory.members(group.id)
        except DirectoryError as error:
            reads.members_failed[group.id] = str(error)

    await bounded((read(g) for g in unblocked(usable, reads)), CONCURRENCY, run, "groups")
    return members


async def _read_member_of(
    directory: Directory, planned: Sequence[ManagedGroup], members: Members, reads: Reads, run: Run
) -> dict[str, set[str]] | None:
    """user id -> the memberOf source groups the user is a direct member of, from the source
    groups' member lists. Uses the memberships before this run's writes: ordering memberOf
    rules over managed groups is a later issue (INTERFACES.md)."""
    sources = member_of_sources(g.rule for g in planned if g.rule is not None)
    if not sources:
        return None
    source_members: Members = {s: members[s] for s in sources if s in members}

    async def read(source: str) -> None:
        try:
            source_members[source] = await directory.members(source)
        except DirectoryError as error:
            reads.sources_failed[source] = str(error)

    await bounded((read(s) for s in sources - source_members.keys()), CONCURRENCY, run, "groups")
    return member_of_index(source_members)


async def _plan(
    directory: Directory,
    planned: Sequence[ManagedGroup],
    members: Members,
    member_of: dict[str, set[str]] | None,
    reads: Reads,
    options: RunOptions,
    run: Run,
) -> tuple[dict[str, GroupPlan], int | None]:
    """Stream every user into the planner; the plans and the listing's size (None, and
    `reads.listing_failed` set, when any page could not be read)."""
    if not planned:
        return {}, None
    ruleset = RuleSet({g.id: g.rule for g in planned if g.rule is not None})
    memberships, non_users, member_counts = invert_members({g.id: members[g.id] for g in planned})
    members.clear()
    planner = Planner(
        planned,
        ruleset,
        memberships,
        listing_complete=True,
        member_of=member_of,
        now=datetime.now(UTC),
    )
    try:
        async for page in directory.user_pages(ruleset.select, manager=ruleset.needs_manager):
            for user in page:
                planner.see(user)
            run.step("users", planner.users_seen)
    except DirectoryError as error:
        reads.listing_failed = str(error)
        return {}, None
    finished = planner.finish(
        options.guard,
        users_listed=planner.users_seen,
        member_counts=member_counts,
        non_user_members=non_users,
    )
    return {p.group_id: p for p in finished}, planner.users_seen


async def _write(
    directory: Directory, plans: Sequence[GroupPlan], options: RunOptions, run: Run
) -> tuple[GroupResult, ...]:
    results: dict[str, GroupResult] = {}

    async def write(plan: GroupPlan) -> None:
        results[plan.group_id] = await apply_plan(directory, plan, run, dry_run=options.dry_run)

    await bounded((write(p) for p in plans), CONCURRENCY, run, "writes")
    return tuple(results[p.group_id] for p in plans)


async def reconcile_groups(
    directory: Directory,
    policy: Policy,
    settings: Settings,
    group_ids: Iterable[str],
    *,
    options: RunOptions | None = None,
    cause: str = "sync",
    correlation_id: str | None = None,
    progress: Progress | None = None,
    state: StateStore | None = None,
) -> RunReport:
    """A full run limited to some groups (what `POST /api/sync/groups/{id}` enqueues)."""
    base = options or RunOptions.from_settings(settings)
    return await reconcile_all(
        directory,
        policy,
        settings,
        options=replace(base, group_ids=tuple(group_ids)),
        cause=cause,
        correlation_id=correlation_id,
        progress=progress,
        state=state,
    )

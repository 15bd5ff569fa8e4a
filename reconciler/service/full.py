"""The full run: every managed group (or the chosen ones) against one listing of all users."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from reconciler.directory import Directory, DirectoryError, Member
from reconciler.plan import (
    GroupPlan,
    Planner,
    blocked_plan,
    invert_members,
    member_of_sources,
)
from reconciler.plan.model import Fault
from reconciler.policy import ManagedGroup, Policy
from reconciler.rules import RuleSet
from reconciler.service.budget import budget_limits, member_counter
from reconciler.service.holding import hold_removals
from reconciler.service.record import record_run
from reconciler.service.report import GroupResult, RunReport
from reconciler.service.run import (
    Progress,
    Run,
    bounded,
    finish_run,
    guard_limits,
    request_counts,
    unwritable,
)
from reconciler.service.writes import apply_plan
from reconciler.settings import Settings
from reconciler.state import StateStore

CONCURRENCY = 8
"""Groups read or written at once; the directory paces writes under the tenant's quota."""


async def reconcile_all(
    directory: Directory,
    policy: Policy,
    settings: Settings,
    group_ids: Iterable[str] | None = None,
    dry_run: bool = False,
    cause: str = "sweep",
    correlation_id: str | None = None,
    allow_mass_removal: bool | None = None,
    progress: Progress | None = None,
    state: StateStore | None = None,
) -> RunReport:
    """Plan (and unless a dry run, DRY_RUN, a pause or a hold, apply) every chosen group.

    With a `state` store, removals spend the shared removal budget (the rest go into the
    group's pending hold), a group the guard holds is stored as a hold, and the run is
    recorded in the history and the groups' state. Without one (unit tests, a CLI with no
    storage configured) only this run's guard applies.

    Order: check each group and read its members; read the source groups of memberOf rules;
    list all users once, planning as pages arrive; guard; write. A group that cannot be read
    gets no writes and an error; a failed user listing stops every write. `group_ids` must be
    groups of the policy (ValueError otherwise).
    """
    run = Run.start(cause, correlation_id, progress)
    dry_run = dry_run or settings.dry_run
    chosen = chosen_groups(policy, group_ids)
    blocked: dict[str, GroupPlan] = {}
    for group in chosen:
        if not group.ok:
            blocked[group.id] = _blocked(
                group, "the rules file has errors for this group (run check); not reconciled"
            )
    members: dict[str, list[Member]] = {}

    usable = [g for g in chosen if g.id not in blocked]
    try:
        infos = await directory.find_groups([g.id for g in usable])
    except DirectoryError as error:
        infos = {}
        for group in usable:
            blocked[group.id] = _blocked(
                group, f"could not read the group ({error}); no writes", "directory"
            )
    for group in usable:
        reason = unwritable(infos.get(group.id)) if group.id not in blocked else None
        if reason:
            blocked[group.id] = _blocked(group, reason)

    async def read_group(group: ManagedGroup) -> None:
        try:
            members[group.id] = await directory.members(group.id)
        except DirectoryError as error:
            blocked[group.id] = _blocked(
                group, f"could not read the group ({error}); no writes for this group", "directory"
            )

    usable = [g for g in usable if g.id not in blocked]
    await bounded((read_group(g) for g in usable), CONCURRENCY, run, "groups")
    planned = [g for g in usable if g.id not in blocked]
    member_of = await _member_of(directory, planned, members, blocked, run)
    planned = [g for g in planned if g.id not in blocked]

    plans: dict[str, GroupPlan] = {}
    users_listed = None
    member_counts: dict[str, int] = {}
    if planned:
        ruleset = RuleSet({g.id: g.rule for g in planned})  # type: ignore[misc]
        memberships, non_users, member_counts = invert_members(
            {g.id: members[g.id] for g in planned}
        )
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
            pages = directory.user_pages(ruleset.select, manager=ruleset.needs_manager)
            async for page in pages:
                for user in page:
                    planner.see(user)
                run.step("users", planner.users_seen)
        except DirectoryError as error:
            reason = f"could not read the user listing ({error}); no writes for any group"
            for group in planned:
                blocked[group.id] = _blocked(group, reason, "directory")
        else:
            users_listed = planner.users_seen
            limits = guard_limits(settings, allow_mass_removal)
            finished = planner.finish(
                limits,
                users_listed=users_listed,
                member_counts=member_counts,
                non_user_members=non_users,
            )
            plans = {p.group_id: p for p in finished}

    ordered = [blocked.get(g.id) or plans[g.id] for g in chosen]
    now = datetime.now(UTC)
    allow = settings.allow_mass_removal if allow_mass_removal is None else allow_mass_removal
    if state is not None and not dry_run and not allow:
        ordered = await hold_removals(
            state,
            ordered,
            {g.id: g for g in chosen},
            budget_limits(settings),
            now,
            member_count=member_counter(directory),
            known_members=member_counts,
        )
    results: dict[str, GroupResult] = {}

    async def write(plan: GroupPlan) -> None:
        results[plan.group_id] = await apply_plan(directory, plan, run, dry_run=dry_run)

    await bounded((write(p) for p in ordered), CONCURRENCY, run, "writes")
    report = RunReport(
        cause=run.cause,
        correlation_id=run.correlation_id,
        dry_run=dry_run,
        groups=tuple(results[p.group_id] for p in ordered),
        duration_seconds=run.elapsed,
        users_listed=users_listed,
        users_read=users_listed or 0,
        requests=request_counts(directory),
    )
    if state is not None and not dry_run:
        await record_run(state, report, run, now, full=True, history_days=settings.history_days)
    finish_run(run, report)
    return report


def chosen_groups(policy: Policy, group_ids: Iterable[str] | None) -> list[ManagedGroup]:
    """The policy's groups with an id (all, or those named, in the file's order)."""
    groups = [g for g in policy.groups if g.id]
    if group_ids is None:
        return groups
    wanted = {group_id.strip().lower() for group_id in group_ids}
    unknown = wanted - {g.id for g in groups}
    if unknown:
        raise ValueError(f"not a group of {policy.file}: {', '.join(sorted(unknown))}")
    return [g for g in groups if g.id in wanted]


async def _member_of(
    directory: Directory,
    planned: Sequence[ManagedGroup],
    members: dict[str, list[Member]],
    blocked: dict[str, GroupPlan],
    run: Run,
) -> dict[str, list[str]] | None:
    """user id -> the memberOf source groups the user is a direct member of, built from the
    source groups' member lists (one read per source group, not one per user). Uses the
    memberships before this run's writes: ordering memberOf rules over managed groups is a
    later issue (INTERFACES.md). A group whose source cannot be read is blocked."""
    sources = member_of_sources(g.rule for g in planned if g.rule is not None)
    if not sources:
        return None
    source_members: dict[str, list[Member]] = {s: members[s] for s in sources if s in members}
    failed: dict[str, str] = {}

    async def read(source: str) -> None:
        try:
            source_members[source] = await directory.members(source)
        except DirectoryError as error:
            failed[source] = str(error)

    await bounded((read(s) for s in sources - source_members.keys()), CONCURRENCY, run, "groups")
    for group in planned:
        broken = sorted(member_of_sources([group.rule]) & failed.keys())  # type: ignore[list-item]
        if broken:
            detail = "; ".join(f"{s}: {failed[s]}" for s in broken)
            blocked[group.id] = _blocked(
                group, f"could not read the memberOf source group {detail}; no writes", "directory"
            )
    member_of: dict[str, list[str]] = {}
    for source, source_list in source_members.items():
        for member in source_list:
            if member.is_user:
                member_of.setdefault(member.id.lower(), []).append(source)
    return member_of


def _blocked(group: ManagedGroup, error: str, fault: Fault | None = None) -> GroupPlan:
    return blocked_plan(group.id, group.display_name, group.paused, error, fault)


async def reconcile_groups(
    directory: Directory,
    policy: Policy,
    settings: Settings,
    group_ids: Iterable[str],
    cause: str = "sync",
    correlation_id: str | None = None,
    progress: Progress | None = None,
    state: StateStore | None = None,
) -> RunReport:
    """A full run limited to some groups (what `POST /api/sync/groups/{id}` enqueues)."""
    return await reconcile_all(
        directory,
        policy,
        settings,
        group_ids=list(group_ids),
        cause=cause,
        correlation_id=correlation_id,
        progress=progress,
        state=state,
    )

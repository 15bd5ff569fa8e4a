"""Before writing: removals pass the shared budget or go into the group's pending hold.

Every path that removes calls `hold_removals` on its plans. Users already in a pending hold
(or whose removal an operator rejected) go straight back into the hold; the others spend the
budget; what the budget does not cover is deferred into the hold. Adds are never touched. If
the store cannot be reached, no removal is written (fail closed) and the plan carries a
retryable error, so the queue retries the message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from reconciler.plan import GroupPlan, MembershipChange
from reconciler.plan.budget import BudgetLimits
from reconciler.policy import ManagedGroup
from reconciler.service.budget import MemberCount, spend
from reconciler.state import HeldRemoval, StateStore, StateUnavailable


async def hold_removals(
    state: StateStore,
    plans: Sequence[GroupPlan],
    groups: Mapping[str, ManagedGroup],
    limits: BudgetLimits,
    now: datetime,
    *,
    member_count: MemberCount,
    known_members: Mapping[str, int] | None = None,
) -> list[GroupPlan]:
    """The plans as they may be written. A plan the run's own guard held keeps its removals
    unwritten and stores them as a hold too, so they can be approved later."""
    done = {p.group_id: p for p in plans}
    for plan in plans:
        if plan.held and plan.removes:
            done[plan.group_id] = await _store_hold(state, plan, plan.removes, now)
    spending = [p for p in plans if p.removes and p.writable]
    if not spending:
        return [done[p.group_id] for p in plans]
    try:
        holds = await state.group_holds([p.group_id for p in spending])
        held_users = {g: h.held_users for g, h in holds.items()}
        wanted = {
            p.group_id: sum(c.user_id not in held_users[p.group_id] for c in p.removes)
            for p in spending
        }
        granted = await spend(
            state,
            wanted,
            limits,
            now,
            percents={p.group_id: groups[p.group_id].max_removal_percent for p in spending},
            member_count=member_count,
            known_members=known_members,
        )
    except StateUnavailable as error:
        reason = (
            f"state store unavailable: the removal budget ({error}); no removals, retried later"
        )
        for plan in spending:
            done[plan.group_id] = plan.withhold_removals(reason)
        return [done[p.group_id] for p in plans]
    for plan in spending:
        allowed = granted.granted.get(plan.group_id, 0)
        budgeted = plan.defer_removals(allowed, held_users[plan.group_id])
        if budgeted.deferred:
            budgeted = await _store_hold(state, budgeted, budgeted.deferred, now)
        done[plan.group_id] = budgeted
    return [done[p.group_id] for p in plans]


async def _store_hold(
    state: StateStore, plan: GroupPlan, removals: Sequence[MembershipChange], now: datetime
) -> GroupPlan:
    held = [HeldRemoval(c.user_id, c.reason) for c in removals]
    try:
        hold = await state.add_to_hold(plan.group_id, plan.name, held, now)
    except StateUnavailable as error:
        # Nothing is lost: the removals are not written, and the error makes the run retry.
        reason = f"state store unavailable: the pending hold ({error}); held removals retried"
        return plan.with_error(reason, "state")
    return replace(plan, hold_id=hold.id)

"""Pure planning: who should be in each managed group, the changes with their reasons, the guard.

No I/O here: the service reads Graph, feeds users to a `Planner` one at a time, and writes
what the finished `GroupPlan`s allow.

planner = Planner(groups, ruleset, memberships)   # memberships: user id -> managed group ids
for user in users: planner.see(user)
plans = planner.finish(limits, users_listed=n, member_counts=counts, non_user_members=...)
"""

from reconciler.plan.decide import Decision, decide, reason_for
from reconciler.plan.guard import GuardLimits, GuardVerdict, judge
from reconciler.plan.model import (
    GroupPlan,
    MembershipChange,
    UndecidedUser,
    blocked_plan,
)
from reconciler.plan.planner import Planner, invert_members, member_of_sources

__all__ = [
    "Decision",
    "GroupPlan",
    "GuardLimits",
    "GuardVerdict",
    "MembershipChange",
    "Planner",
    "UndecidedUser",
    "blocked_plan",
    "decide",
    "invert_members",
    "judge",
    "member_of_sources",
    "reason_for",
]

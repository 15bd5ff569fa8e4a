"""The groups pages: every managed group with status, freshness and pending hold; one group
with its rule, recent changes and their reasons, and "explain this user"."""

from __future__ import annotations

import re
from typing import Any

from reconciler.console.context import Context
from reconciler.console.names import names_from_graph
from reconciler.console.web import Page
from reconciler.directory import DirectoryError
from reconciler.object_id import group_id as normal_group_id
from reconciler.object_id import user_id as normal_user_id
from reconciler.operator_http import history_answer, status_answer
from reconciler.plan import decide, reason_for
from reconciler.policy import ManagedGroup, load_policy
from reconciler.rules import RuleError
from reconciler.settings import rules_file

GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
HISTORY_ROWS = 50


async def groups_page(ctx: Context) -> Page:
    answer = await status_answer(ctx.settings)
    if answer.status != 200:
        return ctx.failed(answer, "read the groups' status")
    return ctx.page("groups.html", report=answer.body)


async def group_page(ctx: Context, group_id: str) -> Page:
    group = managed_group(group_id)
    if group is None:
        return ctx.page(
            "error.html",
            404,
            title="No such managed group",
            code="GroupNotFound",
            message=f"{group_id} is not a group of the rules file",
        )
    status = await status_answer(ctx.settings)
    if status.status != 200:
        return ctx.failed(status, "read the group's status")
    history = await history_answer(ctx.settings, group.id, HISTORY_ROWS)
    if history.status != 200:
        return ctx.failed(history, "read the group's history")
    names = await names_from_graph(ctx.settings, [h["user"] for h in history.body["history"]])
    entry = next((g for g in status.body["groups"] if g["id"] == group.id), None)
    user_id = ctx.request.query.get("user", "").strip()
    explained = await _explain(ctx, group, user_id) if user_id else None
    return ctx.page(
        "group.html",
        group=group,
        entry=entry,
        history=history.body["history"],
        names=names,
        user_id=user_id,
        explained=explained,
    )


def managed_group(group_id: str) -> ManagedGroup | None:
    policy = load_policy(rules_file())
    wanted = normal_group_id(group_id)  # the route's id: the edge where it is normalised
    return next((g for g in policy.groups if g.id and g.id == wanted), None)


async def _explain(ctx: Context, group: ManagedGroup, user_id: str) -> dict[str, Any]:
    """The user as Graph has them now, the rule's verdict clause by clause, the current
    membership and what a run would do (the planner's decision and reason)."""
    if not GUID.match(user_id):
        return {"error": f"{user_id!r} is not a user object id (a GUID)"}
    if group.rule is None:
        return {"error": "the group's rule does not compile (run check on the rules file)"}
    user_id = normal_user_id(user_id)  # the form's id; Graph's answers come normalised
    from reconciler.graph import open_directory

    select = group.rule.select | {"displayName", "userPrincipalName"}
    try:
        async with open_directory(ctx.settings) as directory:
            found = await directory.users(
                [user_id], select, manager=group.rule.needs_manager, member_of=True
            )
    except DirectoryError as error:
        return {"error": f"cannot read the user from Graph: {error}"}
    user = found.get(user_id)
    if user is None:
        return {"error": f"no user {user_id} in the directory"}
    explanation = group.rule.explain(user)
    member = any(entry.get("id") == group.id for entry in user.get("memberOf") or ())
    undecided = explanation.error if isinstance(explanation.error, RuleError) else None
    decision = decide(group, user_id, explanation.result is True, undecided)
    if decision.member is None or decision.member == member:
        verdict = "no change"
    else:
        verdict = "would add" if decision.member else "would remove"
    return {
        "error": "",
        "user": user,
        "explanation": explanation,
        "member": member,
        "verdict": verdict,
        "reason": reason_for(decision, group, user),
    }

"""The rule tester's page: a pasted rule parsed (errors with the caret), then tried over the
whole tenant and, when a group is chosen, against that group's current members."""

from __future__ import annotations

from reconciler.console.context import Context
from reconciler.console.groups import managed_group
from reconciler.console.tester import try_rule
from reconciler.console.web import Page
from reconciler.directory import DirectoryError
from reconciler.policy import load_policy
from reconciler.rules import RuleError, parse
from reconciler.settings import rules_file


def tester_form(ctx: Context) -> Page:
    group = managed_group(ctx.request.query.get("group", ""))
    text = group.rule_text.strip() if group else ""
    return _page(ctx, text, group.id if group else "")


async def run_tester(ctx: Context, form: dict[str, str]) -> Page:
    text = form.get("rule", "")
    group_id = form.get("group", "").strip().lower()
    group = managed_group(group_id) if group_id else None
    if group_id and group is None:
        return _page(ctx, text, group_id, 400, error=f"{group_id} is not a managed group")
    if not text.strip():
        return _page(ctx, text, group_id, 400, error="paste a rule to test")
    try:
        rule = parse(text)
    except RuleError as error:
        return _page(ctx, text, group_id, 400, error=str(error), kind=error.kind)
    from reconciler.graph import open_directory

    try:
        async with open_directory(ctx.settings) as directory:
            result = await try_rule(directory, rule, group, samples=ctx.console.sample_size)
    except DirectoryError as error:
        return _page(ctx, text, group_id, 502, error=f"cannot read the tenant from Graph: {error}")
    return _page(ctx, text, group_id, result=result)


def _page(
    ctx: Context,
    text: str,
    group_id: str,
    status: int = 200,
    *,
    error: str = "",
    kind: str = "",
    result: object = None,
) -> Page:
    groups = [g for g in load_policy(rules_file()).groups if g.id]
    return ctx.page(
        "tester.html",
        status,
        rule_text=text,
        group_id=group_id,
        groups=groups,
        error=error,
        kind=kind,
        result=result,
    )

"""The holds pages: held removals by status, one hold with its users and reasons, and
approve or reject behind a confirmation page (a POST with the form token)."""

from __future__ import annotations

import logging

from reconciler.console.context import Context
from reconciler.console.names import names_from_graph
from reconciler.console.web import Page
from reconciler.operator_http import decide_answer, hold_answer, holds_answer
from reconciler.structured_log import log_json

ACTIONS = ("approve", "reject")
SHOWN = 200
"""Held removals listed on the page (a pending hold can hold 20,000): the count says the rest."""
log = logging.getLogger("reconciler.console")


async def holds_page(ctx: Context) -> Page:
    status = ctx.request.query.get("status") or None
    answer = await holds_answer(ctx.settings, status)
    if answer.status != 200:
        return ctx.failed(answer, "list the holds")
    return ctx.page("holds.html", holds=answer.body["holds"], shown=status or "")


async def hold_page(ctx: Context, hold_id: str, action: str | None = None) -> Page:
    """The hold; with `action`, the confirmation form that decides it."""
    answer = await hold_answer(ctx.settings, hold_id)
    if answer.status != 200:
        return ctx.failed(answer, f"read hold {hold_id}")
    removals = answer.body.get("removals", [])
    names = await names_from_graph(ctx.settings, [r["user"] for r in removals[:SHOWN]])
    return ctx.page("hold.html", hold=answer.body, confirm=action, names=names, shown=SHOWN)


async def decide_hold(ctx: Context, hold_id: str, action: str) -> Page:
    by = ctx.principal.audit_name
    answer = await decide_answer(ctx.settings, hold_id, action, by)
    # The approval's own changes are audited with approvedBy; this record says who asked
    # through the console, also when the decision failed.
    log_json(
        log,
        logging.INFO,
        {
            "event": "console-decision",
            "hold": hold_id,
            "action": action,
            "by": ctx.principal.name,
            "principalId": ctx.principal.object_id,
            "status": answer.status,
        },
    )
    if answer.status != 200:
        return ctx.failed(answer, f"{action} hold {hold_id}")
    hold = answer.body.get("hold", answer.body)
    run = answer.body.get("run")
    return ctx.page("decided.html", hold=hold, action=action, run=run)

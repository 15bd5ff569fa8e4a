"""The console's front door: who may see what (403 for everyone else), the form token on
every POST, and which page a path is. function_app.py hands every /api/console request here.

    GET  groups, groups/{id}[?user=ID]        Reconciler.Read
    GET  tester[?group=ID], POST tester        Reconciler.Read (testing writes nothing)
    GET  holds[?status=], holds/{id}           Reconciler.Read
    GET  holds/{id}/approve|reject             Reconciler.Approve: the confirmation
    POST holds/{id}/approve|reject             Reconciler.Approve: the decision
    GET  static/console.css                    anyone (no data)
"""

from __future__ import annotations

from reconciler.console import csrf
from reconciler.console.config import LOCAL_SETTING, PLATFORM_SETTING, ConsoleSettings
from reconciler.console.context import BASE, Context, refusal
from reconciler.console.groups import group_page, groups_page
from reconciler.console.holds import ACTIONS, decide_hold, hold_page, holds_page
from reconciler.console.principal import (
    ROLE_APPROVE,
    ROLE_READ,
    Principal,
    PrincipalError,
    read_principal,
)
from reconciler.console.render import STATIC
from reconciler.console.tester_page import run_tester, tester_form
from reconciler.console.web import ConsoleRequest, FormError, Page, csrf_cookie
from reconciler.settings import Settings, SettingsError


async def respond(request: ConsoleRequest) -> Page:
    parts = [p for p in request.path.split("/") if p]
    if parts == ["static", "console.css"] and request.method == "GET":
        css = (STATIC / "console.css").read_text(encoding="utf-8")
        return Page(200, css, "text/css", {"Cache-Control": "max-age=300"})
    try:
        console = ConsoleSettings.from_env()
        settings = Settings.from_env()
    except SettingsError as error:
        return refusal(500, "The console is not configured", str(error))
    principal = _who(request, console)
    if isinstance(principal, Page):
        return principal
    cookie = request.cookie(csrf.COOKIE)
    token = csrf.token_for(console.csrf_key, principal.audit_name, cookie)
    ctx = Context(request, principal, settings, console, token)
    form: dict[str, str] = {}
    if request.method == "POST":
        try:
            form = request.form()
        except FormError as error:
            return refusal(400, "Unreadable form", str(error))
        if not csrf.valid(console.csrf_key, principal.audit_name, cookie, form.get(csrf.FIELD)):
            return refusal(
                403,
                "Form expired",
                "the form's token does not match this session: reload the page and try again",
            )
    page = await _dispatch(ctx, request.method, parts, form)
    if token != cookie:
        page.headers["Set-Cookie"] = csrf_cookie(csrf.COOKIE, token, secure=request.secure)
    return page


def _who(request: ConsoleRequest, console: ConsoleSettings) -> Principal | Page:
    """The signed-in principal with a console role, or the refusal page."""
    if not console.trust_principal:
        return refusal(
            403,
            "Sign-in is not set up",
            f"turn on App Service Authentication (it sets {PLATFORM_SETTING}); locally, set "
            f"{LOCAL_SETTING}=true and sign in with devhost --principal",
        )
    try:
        principal = read_principal(request.headers)
    except PrincipalError as error:
        return refusal(403, "Not signed in", str(error))
    if principal is None:
        return refusal(
            403,
            "Not signed in",
            "no signed-in principal (X-MS-CLIENT-PRINCIPAL): sign in at "
            "/.auth/login/aad?post_login_redirect_uri=/api/console/groups",
        )
    if not principal.can_read:
        return refusal(
            403,
            "Not allowed",
            f"{principal.name} has neither the {ROLE_READ} nor the {ROLE_APPROVE} app role",
        )
    return principal


async def _dispatch(ctx: Context, method: str, parts: list[str], form: dict[str, str]) -> Page:
    get = method == "GET"
    match parts:
        case [] | ["groups"] if get:
            return await groups_page(ctx)
        case ["groups", group_id] if get:
            return await group_page(ctx, group_id)
        case ["tester"] if get:
            return tester_form(ctx)
        case ["tester"]:
            return await run_tester(ctx, form)
        case ["holds"] if get:
            return await holds_page(ctx)
        case ["holds", hold_id] if get:
            return await hold_page(ctx, hold_id)
        case ["holds", hold_id, action] if action in ACTIONS:
            if not ctx.principal.can_approve:
                return refusal(
                    403,
                    "Not allowed",
                    f"deciding holds needs the {ROLE_APPROVE} app role; "
                    f"{ctx.principal.name} does not have it",
                )
            if get:
                return await hold_page(ctx, hold_id, action)
            return await decide_hold(ctx, hold_id, action)
    return refusal(404, "No such page", f"nothing at {BASE}/{'/'.join(parts)}")

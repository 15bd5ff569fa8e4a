"""The console's front door in-process: who is refused, the form token on POSTs, the
headers every page carries, and that values from the request are escaped in the page."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from devhost.easy_auth import principal_header
from reconciler.console import csrf
from reconciler.console.routes import respond
from reconciler.console.web import ConsoleRequest

ROOT = Path(__file__).resolve().parents[2]
KEY = "routes-test-csrf-key-0123456789abcdef"
READER = principal_header("rita@contoso.com", ["Reconciler.Read"])


@pytest.fixture(autouse=True)
def console_env(monkeypatch) -> None:
    monkeypatch.setenv("CONSOLE_CSRF_KEY", KEY)
    monkeypatch.setenv("CONSOLE_TRUST_LOCAL_PRINCIPAL", "true")
    monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
    monkeypatch.setenv("RULES_FILE", str(ROOT / "rules.sample.toml"))


def request(
    path: str, *, principal: str | None = READER, method: str = "GET", **extra: object
) -> ConsoleRequest:
    headers = dict(extra.pop("headers", {}))  # type: ignore[call-overload]
    if principal is not None:
        headers["X-MS-CLIENT-PRINCIPAL"] = principal
    return ConsoleRequest(
        method, f"http://127.0.0.1/api/console/{path}", path, headers, {}, **extra
    )  # type: ignore[arg-type]


def post_rule(rule: str, name: str = "rita@contoso.com", token_for: str | None = None):
    token = csrf.new_token(KEY.encode(), token_for or name)
    return request(
        "tester",
        method="POST",
        principal=principal_header(name, ["Reconciler.Read"]),
        headers={
            "Cookie": f"{csrf.COOKIE}={token}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        body=urlencode({"rule": rule, "csrf": token}).encode(),
    )


async def test_every_page_carries_a_strict_policy_and_sets_the_form_token_cookie() -> None:
    page = await respond(request("tester"))
    assert page.status == 200
    headers = page.all_headers()
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "script" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store"
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith(f"{csrf.COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert f'name="csrf" value="{token}"' in str(page.body)
    assert "<script" not in str(page.body)


async def test_without_easy_auth_the_header_is_not_believed(monkeypatch) -> None:
    monkeypatch.delenv("CONSOLE_TRUST_LOCAL_PRINCIPAL")
    page = await respond(request("groups"))
    assert page.status == 403 and "WEBSITE_AUTH_ENABLED" in str(page.body)
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")
    assert (await respond(request("tester"))).status == 200


async def test_anonymous_and_roleless_principals_get_403() -> None:
    assert (await respond(request("tester", principal=None))).status == 403
    nobody = principal_header("eve@contoso.com", ["Other"])
    page = await respond(request("tester", principal=nobody))
    assert page.status == 403 and "eve@contoso.com has neither" in str(page.body)
    page = await respond(request("tester", principal="%%%"))
    assert page.status == 403 and "not base64" in str(page.body)


async def test_a_missing_csrf_key_names_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("CONSOLE_CSRF_KEY", "short")
    page = await respond(request("tester"))
    assert page.status == 500 and "CONSOLE_CSRF_KEY" in str(page.body)


async def test_a_post_needs_the_token_of_this_principal() -> None:
    assert (await respond(post_rule("user.department -eqq 1"))).status == 400  # accepted
    stolen = post_rule("user.department -eq 1", token_for="mallory@contoso.com")
    page = await respond(stolen)
    assert page.status == 403 and "Form expired" in str(page.body)
    bare = request(
        "tester",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=b"rule=x",
    )
    assert (await respond(bare)).status == 403


async def test_a_rule_error_shows_the_caret_and_every_value_is_escaped() -> None:
    page = await respond(post_rule('user.department -eqq "<script>alert(1)</script>"'))
    html = str(page.body)
    assert page.status == 400
    assert "QueryCompilationError" in html and "^" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_the_approval_needs_the_approve_role_and_unknown_pages_are_404() -> None:
    page = await respond(request("holds/0123456789ab/approve"))
    assert page.status == 403 and "Reconciler.Approve" in str(page.body)
    assert (await respond(request("nothing/here"))).status == 404
    css = await respond(request("static/console.css", principal=None))
    assert css.status == 200 and css.content_type == "text/css"

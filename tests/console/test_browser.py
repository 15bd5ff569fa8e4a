"""The console in headless Chromium on the real local stack: every page loads for a reader,
a pasted rule is tested over the tenant, an approver approves a hold through the
confirmation, and principals without the app roles (or without the form token) are refused.
Each page's screenshot lands in docs/screenshots/ for the README."""

from __future__ import annotations

import httpx

from devhost import DevHost
from devhost.easy_auth import parse_principal, principal_header
from harness.stack import Stack
from tests.console.conftest import ROOT, full_run, screenshot, status

SALES = "10000000-0000-4000-8000-000000000001"
READER = ("rita@contoso.com", "Reconciler.Read")
APPROVER = ("alex@contoso.com", "Reconciler.Read", "Reconciler.Approve")


def console(stack: Stack, path: str = "") -> str:
    return f"{stack.host.base_url}/api/console/{path}"


def test_the_groups_page_lists_every_group_with_status_and_freshness(
    console_stack: Stack, signed_in
) -> None:
    page = signed_in(*READER)
    response = page.goto(console(console_stack, "groups"))
    assert response.status == 200
    assert "script-src" not in response.headers["content-security-policy"]
    assert "default-src 'none'" in response.headers["content-security-policy"]
    rows = page.locator("#groups tbody tr")
    assert rows.count() == len(status(console_stack)["groups"])
    assert "Sales - all" in page.locator("#groups").inner_text()
    assert page.locator("#groups .good", has_text="fresh").count() == rows.count()
    assert "rita@contoso.com" in page.locator("#principal").inner_text()
    screenshot(page, "groups")


def test_a_group_page_shows_its_rule_history_and_explains_a_user(
    console_stack: Stack, signed_in
) -> None:
    tenant = console_stack.graph.export_tenant()
    member = tenant["members"][SALES][0]
    page = signed_in(*READER)
    page.goto(console(console_stack, "groups"))
    page.click("text=Sales - all")
    assert 'user.department -eq "Sales"' in page.locator("#rule").inner_text()
    history = page.locator("#history tbody tr")
    assert history.count() > 0
    assert "rule matches: department" in page.locator("#history").inner_text()
    assert "@fabrikam.example" in history.first.inner_text()  # names beside the ids
    page.fill("#user", member)
    page.click("button:has-text('Explain')")
    screenshot(page, "group")
    assert page.locator("#verdict").inner_text() == "no change"
    assert "user.department" in page.locator("#explained table.explain").inner_text()
    screenshot(page, "group")


def test_the_rule_tester_counts_the_tenant_and_shows_who_would_join_or_leave(
    console_stack: Stack, signed_in
) -> None:
    tenant = console_stack.graph.export_tenant()
    sales = {u["id"] for u in tenant["users"] if (u.get("department") or "").lower() == "sales"}
    enabled_sales = {
        u["id"] for u in tenant["users"] if u["id"] in sales and u.get("accountEnabled")
    }
    page = signed_in(*READER)
    page.goto(console(console_stack, f"tester?group={SALES}"))
    page.fill("#rule", '(user.department -eq "Sales")')
    page.click("#tester button")
    assert page.locator("#matched").inner_text() == f"{len(sales):,}"
    assert page.locator("#would-join").inner_text() == f"{len(sales - enabled_sales):,}"
    assert page.locator("#would-leave").inner_text() == "0"
    assert page.locator("#matches li").count() == min(5, len(sales))
    assert "user.department" in page.locator("#non-matches").inner_text()
    screenshot(page, "tester")
    page.fill("#rule", 'user.department -eqq "Sales"')
    page.click("#tester button")
    error = page.locator("#rule-error pre").inner_text()
    assert "^" in error and "-eqq" in error
    screenshot(page, "tester-error")


def test_an_approver_approves_a_hold_through_the_confirmation(
    console_stack: Stack, signed_in
) -> None:
    stack = console_stack
    tenant = stack.graph.export_tenant()
    members = list(tenant["members"][SALES])
    blanked = members[: max(3, len(members) // 2)]  # far beyond 20 % of the group: held
    for user in tenant["users"]:
        if user["id"] in blanked:
            user["department"] = "Marketing"
    stack.graph.load_tenant(tenant)
    full_run(stack)
    holds = httpx.get(stack.host.url("list_holds"), params={"status": "pending"}).json()["holds"]
    [hold] = [h for h in holds if h["group"] == SALES]

    page = signed_in(*APPROVER)
    page.goto(console(stack, "holds"))
    screenshot(page, "holds")
    page.click(f"text={hold['id']}")
    assert page.locator("#removals tbody tr").count() == hold["users"]
    assert "@fabrikam.example" in page.locator("#removals").inner_text()
    page.click("#approve")
    assert page.locator("#confirm").is_visible()
    screenshot(page, "hold-confirm")
    page.click("#confirm-button")
    assert page.locator("#decision").inner_text() == "approved"
    screenshot(page, "hold-approved")
    decided = httpx.get(stack.host.url("show_hold").replace("{id}", hold["id"])).json()
    assert decided["status"] == "approved"
    assert decided["decidedBy"].startswith("alex@contoso.com")
    left = set(stack.graph.export_tenant()["members"][SALES])
    assert not left & set(decided["removedUsers"]) and decided["removedUsers"]


def test_principals_without_a_console_role_are_refused_everywhere(
    console_stack: Stack, signed_in
) -> None:
    page = signed_in("mallory@contoso.com", "Some.Other.Role")
    for path in ("groups", f"groups/{SALES}", "tester", "holds"):
        response = page.goto(console(console_stack, path))
        assert response.status == 403, path
        assert "neither the Reconciler.Read nor the Reconciler.Approve" in page.inner_text("#error")
    screenshot(page, "refused")
    anonymous = httpx.get(console(console_stack, "groups"))
    assert anonymous.status_code == 403


def test_a_reader_cannot_reach_the_approval_and_a_post_without_the_token_is_refused(
    console_stack: Stack, signed_in
) -> None:
    page = signed_in(*READER)
    response = page.goto(console(console_stack, "holds/0123456789ab/approve"))
    assert response.status == 403
    assert "Reconciler.Approve" in page.inner_text("#error")
    approver = {"X-MS-CLIENT-PRINCIPAL": principal_header(APPROVER[0], APPROVER[1:])}
    forged = httpx.post(
        console(console_stack, "holds/0123456789ab/approve"),
        headers={**approver, "Content-Type": "application/x-www-form-urlencoded"},
        content=b"csrf=made-up",
    )
    assert forged.status_code == 403 and "Form expired" in forged.text


def test_devhost_principal_signs_every_request_in_and_replaces_a_clients_header(
    console_stack: Stack,
) -> None:
    host = DevHost(
        app="function_app",
        port=0,
        settings=None,
        host_json=ROOT / "tests/devhost/host.json",
        app_dir=ROOT,
        principal=parse_principal("dora@contoso.com:Reconciler.Read"),
    )
    eve = principal_header("eve@contoso.com", ["Reconciler.Approve"])
    with host:
        plain = httpx.get(f"{host.base_url}/api/console/groups")
        forged = httpx.get(
            f"{host.base_url}/api/console/groups", headers={"X-MS-CLIENT-PRINCIPAL": eve}
        )
    assert plain.status_code == 200 and "dora@contoso.com" in plain.text
    assert forged.status_code == 200 and "dora@contoso.com" in forged.text
    assert "eve@contoso.com" not in forged.text


def test_an_approver_rejects_a_hold_and_nobody_is_removed(console_stack: Stack, signed_in) -> None:
    stack = console_stack
    tenant = stack.graph.export_tenant()
    members = list(tenant["members"][SALES])
    for user in tenant["users"]:
        if user["id"] in members[: max(3, len(members) // 2)]:
            user["department"] = "Finance"
    stack.graph.load_tenant(tenant)
    full_run(stack)
    holds = httpx.get(stack.host.url("list_holds"), params={"status": "pending"}).json()["holds"]
    [hold] = [h for h in holds if h["group"] == SALES]
    before = set(stack.graph.export_tenant()["members"][SALES])

    page = signed_in(*APPROVER)
    page.goto(console(stack, f"holds/{hold['id']}"))
    page.click("#reject")
    assert "next run that wants these users removed holds them again" in page.inner_text("#confirm")
    page.click("#confirm-button")
    assert page.locator("#decision").inner_text() == "rejected"
    decided = httpx.get(stack.host.url("show_hold").replace("{id}", hold["id"])).json()
    assert decided["status"] == "rejected" and decided["decidedBy"].startswith("alex@")
    assert set(stack.graph.export_tenant()["members"][SALES]) == before

"""The console on the whole local stack (Azurite tables, the Graph emulator, devhost hosting
function_app.py) and headless Chromium: Debian's chromium driven by Playwright's Python
package (scripts/setup installs the browser; Playwright's own download is never used)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from devhost.easy_auth import principal_header
from harness.stack import Stack, running_stack
from tests.devhost.fixtures import azurite, wait_until  # noqa: F401 - the session fixture

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", ROOT / "docs/screenshots"))
CHROMIUM = os.environ.get("CHROMIUM", "chromium")
# Chromium's own background traffic (updates, sync, safe browsing) has nowhere to go on
# these machines and is refused many times over: turn it off (../shared: python.md).
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
CONSOLE_SETTINGS = {
    "CONSOLE_CSRF_KEY": "console-tests-csrf-key-0123456789abcdef",
    "CONSOLE_TRUST_LOCAL_PRINCIPAL": "true",
    "STATE_TABLE_PREFIX": "console",
    "MAX_REMOVAL_PERCENT": "20",
    "REMOVAL_FLOOR": "2",
}


@pytest.fixture(scope="module")
def console_stack(azurite, loopback_only: None) -> Iterator[Stack]:  # noqa: F811
    """The sample tenant (200 users) after one full run: group state and history exist."""
    with running_stack(
        azurite.connection_string, queue="user-changes-console", overrides=CONSOLE_SETTINGS
    ) as stack:
        full_run(stack)
        yield stack


def full_run(stack: Stack) -> dict:
    """Run the full_reconcile timer now (devhost's admin API) and wait for its status."""
    before = {g["id"]: g["lastCorrelationId"] for g in status(stack)["groups"]}
    answer = httpx.post(f"{stack.host.base_url}/admin/functions/full_reconcile", json={})
    assert answer.status_code == 202, answer.text

    def finished() -> dict | None:
        now = status(stack)
        done = all(
            g["lastCorrelationId"] and g["lastCorrelationId"] != before.get(g["id"])
            for g in now["groups"]
        )
        return now if done else None

    return wait_until(finished, timeout=30, what="the full run to record every group")


def status(stack: Stack) -> dict:
    answer = httpx.get(stack.host.url("status"))
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Module-scoped: while Playwright's sync API runs, its event loop is the running one in
    this thread, and pytest-asyncio's tests elsewhere could not start theirs."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which(CHROMIUM)
    assert executable, f"no {CHROMIUM} on PATH: scripts/setup installs Debian's chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def signed_in(browser) -> Iterator[Callable[..., object]]:
    """`signed_in(name, *roles)` -> a Playwright page whose requests carry the Easy Auth
    principal header, as App Service Authentication would add it."""
    contexts = []

    def open_page(name: str, *roles: str) -> object:
        context = browser.new_context(  # type: ignore[attr-defined]
            extra_http_headers={"X-MS-CLIENT-PRINCIPAL": principal_header(name, roles)},
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(5000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path

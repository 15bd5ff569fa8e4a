"""What every console page is given: the request, who asks, the settings, the form token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.console.config import ConsoleSettings
from reconciler.console.principal import Principal
from reconciler.console.render import render
from reconciler.console.web import ConsoleRequest, Page
from reconciler.operator_http import Answer
from reconciler.settings import Settings

BASE = "/api/console"


@dataclass(frozen=True, slots=True)
class Context:
    request: ConsoleRequest
    principal: Principal
    settings: Settings
    console: ConsoleSettings
    csrf_token: str

    def page(self, template: str, status: int = 200, **values: Any) -> Page:
        html = render(template, base=BASE, principal=self.principal, csrf=self.csrf_token, **values)
        return Page(status, html)

    def failed(self, answer: Answer, doing: str) -> Page:
        """An operator route's error answer as a page: what failed and Graph's or storage's
        message."""
        error = answer.body.get("error", {})
        return self.page(
            "error.html",
            answer.status,
            title=f"Cannot {doing}",
            code=error.get("code", ""),
            message=error.get("message", ""),
        )


def refusal(status: int, title: str, message: str) -> Page:
    """A page for someone the console will not serve (no principal, role or token)."""
    html = render(
        "error.html", base=BASE, principal=None, csrf="", title=title, code="", message=message
    )
    return Page(status, html)

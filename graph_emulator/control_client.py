"""A small synchronous client for the `/_emulator/` control API, for tests and scripts.

It works against any running emulator (in-process or `python -m graph_emulator`) and uses only
the standard library, so sync pytest fixtures and shell-driven demos can use it as is.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from graph_emulator.tenant_document import TenantDocument

# Never route loopback calls through a proxy taken from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ControlError(RuntimeError):
    """The control API refused a request; `status` and `body` say why."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"control API answered {status}: {body}")
        self.status = status
        self.body = body


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


class ControlClient:
    """`root_url` is the server root, e.g. http://127.0.0.1:8765 (no /v1.0)."""

    def __init__(self, root_url: str, timeout: float = 30.0) -> None:
        self.root_url = root_url.rstrip("/")
        if self.root_url.endswith("/v1.0"):
            self.root_url = self.root_url[: -len("/v1.0")]
        self.timeout = timeout

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.root_url}/_emulator{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                detail = json.loads(raw)
            except ValueError:
                detail = raw.decode("utf-8", "replace")
            raise ControlError(exc.code, detail) from None
        return json.loads(raw) if raw else None

    # ----- tenant ----------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return self._request("GET", "/")

    def export_tenant(self) -> dict[str, Any]:
        return self._request("GET", "/tenant")

    def load_tenant(self, document: TenantDocument | dict[str, Any]) -> None:
        if isinstance(document, TenantDocument):
            document = document.to_json()
        self._request("PUT", "/tenant", document)

    def generate_tenant(self, users: int, seed: int = 1, groups: int = 0) -> None:
        self._request("POST", "/tenant/generate", {"users": users, "seed": seed, "groups": groups})

    def reset(self) -> None:
        self._request("POST", "/reset")

    def patch_user(self, user_id: str, **changes: Any) -> dict[str, Any]:
        """Change any property as the source of authority would; sends `updated`."""
        return self._request("PATCH", f"/users/{user_id}", changes)

    # ----- behaviour -------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        return self._request("GET", "/settings")

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        """Names in snake_case or camelCase: update_settings(write_quota=3000)."""
        return self._request("PATCH", "/settings", {_camel(k): v for k, v in changes.items()})

    def add_fault(self, rule: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """add_fault(kind="status", status=429, retry_after="1.5", route="/users")."""
        return self._request("POST", "/faults", {**(rule or {}), **fields})

    def faults(self) -> list[dict[str, Any]]:
        return self._request("GET", "/faults")["value"]

    def remove_fault(self, rule_id: str) -> None:
        self._request("DELETE", f"/faults/{rule_id}")

    def clear_faults(self) -> None:
        self._request("DELETE", "/faults")

    def advance_clock(self, seconds: float) -> str:
        return self._request("POST", "/clock", {"advanceSeconds": seconds})["now"]

    def send_lifecycle(
        self,
        subscription_id: str,
        event: str = "reauthorizationRequired",
        *,
        pause_delivery: bool = False,
    ) -> dict[str, Any]:
        return self._request(
            "POST",
            f"/subscriptions/{subscription_id}/lifecycle",
            {"lifecycleEvent": event, "pauseDelivery": pause_delivery},
        )

    def expire_delta_tokens(
        self, *, issued_before: str | None = None, older_than_seconds: float | None = None
    ) -> dict[str, Any]:
        """Expire /users/delta tokens: all issued so far, or those issued before a point."""
        body: dict[str, Any] = {}
        if issued_before is not None:
            body["issuedBefore"] = issued_before
        if older_than_seconds is not None:
            body["olderThanSeconds"] = older_than_seconds
        return self._request("POST", "/delta/expire", body)

    def delta_state(self) -> dict[str, Any]:
        return self._request("GET", "/delta")

    # ----- observation -----------------------------------------------------------------------

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        return self._request("GET", f"/requests?since={since}")["value"]

    def counters(self) -> dict[str, Any]:
        return self._request("GET", "/counters")

    def clear_requests(self) -> None:
        self._request("DELETE", "/requests")

    def writes(self, since: int = 0) -> list[dict[str, Any]]:
        return self._request("GET", f"/writes?since={since}")["value"]

    def notifications(self, since: int = 0) -> dict[str, Any]:
        return self._request("GET", f"/notifications?since={since}")

    def wait_for_notifications(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Poll until nothing is pending (delivered, dropped or expired); a hang detector."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.notifications()
            if state["pending"] == 0:
                return state["value"]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{state['pending']} notifications still pending")
            time.sleep(0.01)

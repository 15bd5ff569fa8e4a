"""Raw HTTP access to the emulator for contract tests, and the Graph error-shape check."""

from __future__ import annotations

from typing import Any

import httpx


class Api:
    """A thin Graph client for contract tests: raw status, headers and JSON, token included."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client = httpx.Client(
            headers={"Authorization": "Bearer test-token"}, trust_env=False, timeout=30
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        return self.client.request(method, url, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def all_pages(self, path: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        url: str | None = path
        while url:
            response = self.get(url, **kwargs)
            assert response.status_code == 200, response.text
            body = response.json()
            items.extend(body["value"])
            url = body.get("@odata.nextLink")
        return items


def assert_graph_error(
    response: httpx.Response, status: int, code: str, message: str | None = None
):
    """Graph's error shape: code, message and innerError with date and both request ids."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    if message is not None:
        assert error["message"] == message
    inner = error["innerError"]
    assert set(inner) >= {"date", "request-id", "client-request-id"}
    assert inner["request-id"] == response.headers["request-id"]
    return error

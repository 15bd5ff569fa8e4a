"""Graph's error body, and the exception handlers raise to produce it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class GraphError(Exception):
    """A failure that must reach the client as Graph's `{"error": {...}}` body.

    Handlers raise it anywhere below the dispatcher; the dispatcher turns it into a reply with the
    request's ids in `innerError`, exactly where Graph puts them.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        inner: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.inner = inner or {}


def inner_error_date(now: datetime | None = None) -> str:
    """Graph writes innerError.date without a zone or fraction: 2020-08-18T12:51:51."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S")


def error_body(
    code: str,
    message: str,
    request_id: str,
    client_request_id: str,
    inner: dict[str, str] | None = None,
) -> dict[str, Any]:
    inner_error = {
        "date": inner_error_date(),
        "request-id": request_id,
        "client-request-id": client_request_id,
    }
    inner_error.update(inner or {})
    return {"error": {"code": code, "message": message, "innerError": inner_error}}


# The errors below are the documented (or widely observed) Graph ones; see graph-facts.md.


def not_found(object_id: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{object_id}' does not exist or one of its queried reference-property "
        "objects are not present.",
    )


def bad_json() -> GraphError:
    return GraphError(
        400,
        "BadRequest",
        "Unable to read JSON request payload. Please ensure Content-Type header is set and "
        "payload is of valid JSON format.",
    )


def unknown_segment(segment: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def unknown_property(name: str, type_name: str) -> GraphError:
    return GraphError(
        400,
        "BadRequest",
        f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.",
    )


def insufficient_privileges() -> GraphError:
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def too_many_requests(retry_after: str, *, information: str | None = None) -> GraphError:
    headers = {"Retry-After": retry_after}
    if information:
        headers["x-ms-throttle-information"] = information
        headers["x-ms-throttle-scope"] = "Tenant_Application/ReadWrite/emulator/emulator"
    return GraphError(
        429,
        "TooManyRequests",
        "Please retry again later.",
        headers=headers,
        inner={"code": "429", "message": "Please retry after", "status": "429"},
    )

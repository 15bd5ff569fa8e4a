"""One Graph request and its reply, independent of HTTP, so `$batch` items run the same code."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graph_emulator import errors


@dataclass(frozen=True)
class Call:
    """A request below `/v1.0`: `path` is normalised (no `//`), header names are lower case."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    request_id: str
    client_request_id: str
    batch_id: str | None = None

    def json(self) -> Any:
        if not self.body.strip():
            raise errors.bad_json()
        try:
            return json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise errors.bad_json() from None

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise errors.bad_json()
        return body

    def option(self, name: str) -> str | None:
        """A system query option, with or without `$` and in any case, as Graph accepts."""
        wanted = name.lower().lstrip("$")
        for key, value in self.query.items():
            if key.lower().lstrip("$") == wanted:
                return value
        return None

    @property
    def advanced(self) -> bool:
        """Graph's advanced queries need both the header and `$count=true`."""
        consistency = self.headers.get("consistencylevel", "").lower() == "eventual"
        return consistency and (self.option("count") or "").lower() == "true"


@dataclass(frozen=True)
class Reply:
    """`body`: a dict or list becomes JSON, a str becomes text/plain, None means no body.

    `disconnect` asks the HTTP layer to drop the connection half-way through the body.
    """

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    disconnect: bool = False


NO_CONTENT = Reply(204)

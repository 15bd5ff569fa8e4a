"""Maps a method and a Graph path to a handler; path segments match in any case, as in Graph."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graph_emulator import errors
from graph_emulator.calls import Call, Reply
from graph_emulator.errors import GraphError

if TYPE_CHECKING:
    from graph_emulator.emulator import Emulator

Handler = Callable[["Emulator", Call, dict[str, str]], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # "/groups/{id}/members/$ref": the name counters and fault rules use
    pattern: re.Pattern[str]
    handler: Handler


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]


def _compile(template: str) -> re.Pattern[str]:
    parts = []
    for segment in template.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "/?$", re.IGNORECASE)


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, template, _compile(template), handler))
            return handler

        return register

    def match(self, method: str, path: str) -> Match:
        allowed = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method:
                return Match(route, found.groupdict())
            allowed = True
        if allowed:
            # Made up: Graph's body for an unsupported method is not documented.
            raise GraphError(
                405, "Request_BadRequest", f"The HTTP method '{method}' is not allowed for {path}."
            )
        raise errors.unknown_segment(self._first_unknown_segment(path))

    def _first_unknown_segment(self, path: str) -> str:
        """The segment where no route continues, for "Resource not found for the segment"."""
        segments = [s for s in path.split("/") if s]
        for depth in range(1, len(segments) + 1):
            prefix = segments[:depth]
            if not any(self._prefix_matches(route, prefix) for route in self.routes):
                return segments[depth - 1]
        return segments[-1] if segments else ""

    @staticmethod
    def _prefix_matches(route: Route, prefix: list[str]) -> bool:
        template = route.template.strip("/").split("/")
        if len(template) < len(prefix):
            return False
        for expected, actual in zip(template, prefix, strict=False):
            if expected.startswith("{"):
                continue
            if expected.lower() != actual.lower():
                return False
        return True

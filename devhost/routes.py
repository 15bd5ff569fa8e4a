"""Route templates as the host matches them: `items/{id}`, `{id:int}`, `{name?}`, `{*rest}`.

Literal segments match case-insensitively; a template with more literal segments wins over one
with parameters (ASP.NET's precedence, simplified). Constraints: int, long, bool, guid, alpha,
and any other constraint name is accepted without a check (documented deviation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PARAMETER = re.compile(r"^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?(\?)?\}$")
CONSTRAINTS = {
    "int": re.compile(r"^-?\d+$"),
    "long": re.compile(r"^-?\d+$"),
    "bool": re.compile(r"^(?i:true|false)$"),
    "guid": re.compile(r"^\{?[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\}?$"),
    "alpha": re.compile(r"^[A-Za-z]+$"),
}


@dataclass(frozen=True)
class Segment:
    literal: str | None = None
    parameter: str | None = None
    constraint: str | None = None
    optional: bool = False
    catch_all: bool = False

    def accepts(self, value: str) -> bool:
        pattern = CONSTRAINTS.get((self.constraint or "").lower())
        return pattern is None or bool(pattern.match(value))


@dataclass(frozen=True)
class RouteTemplate:
    text: str
    segments: tuple[Segment, ...]

    @classmethod
    def parse(cls, text: str) -> RouteTemplate:
        segments = []
        for part in [p for p in text.strip("/").split("/") if p]:
            match = PARAMETER.match(part)
            if match:
                star, name, constraint, optional = match.groups()
                segments.append(
                    Segment(
                        parameter=name,
                        constraint=constraint,
                        optional=bool(optional),
                        catch_all=bool(star),
                    )
                )
            elif "{" in part or "}" in part:
                raise ValueError(f"route {text!r}: unsupported segment {part!r}")
            else:
                segments.append(Segment(literal=part.lower()))
        return cls(text, tuple(segments))

    @property
    def precedence(self) -> tuple[int, int]:
        literals = sum(1 for s in self.segments if s.literal is not None)
        catch_all = any(s.catch_all for s in self.segments)
        return (-literals, int(catch_all))

    def match(self, path: str) -> dict[str, str] | None:
        """Route parameters if `path` (without the route prefix) matches, else None."""
        parts = [p for p in path.strip("/").split("/") if p]
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.catch_all:
                rest = "/".join(parts[index:])
                if rest:
                    params[segment.parameter or ""] = rest
                return params
            if index >= len(parts):
                if all(s.optional or s.catch_all for s in self.segments[index:]):
                    return params
                return None
            value = parts[index]
            if segment.literal is not None:
                if value.lower() != segment.literal:
                    return None
            elif segment.accepts(value):
                params[segment.parameter or ""] = value
            else:
                return None
        return params if len(parts) == len(self.segments) else None

"""The fault plan: rules that make chosen Graph calls or notification deliveries misbehave.

A rule matches a method and a route (a glob over the path below /v1.0, such as
`/groups/*/members/$ref`, or a route template such as `/groups/{id}/members/$ref`), and fires
always, every Nth match, or with a seeded probability, at most `times` times.

Kinds for Graph calls: `status` (429 with Retry-After, 500, 503, 504, ...), `latency` (adds
delay, then answers normally; with `phase: "after"` the call takes effect first and only its
answer is held back, the window in which a client can die between a write and knowing it
happened) and `disconnect` (drops the connection half-way through the
body; with `pagesOnly` only on pages after the first). `scope` picks direct requests,
`$batch` items, or both. Kinds for change notifications: `drop`, `duplicate`, `reorder`
(held back and sent after the next one) and `delay`; their `route` is a glob over the
notification URL.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import random
from dataclasses import dataclass
from typing import Any

from graph_emulator import errors
from graph_emulator.errors import GraphError

REQUEST_KINDS = ("status", "latency", "disconnect")
NOTIFICATION_KINDS = ("drop", "duplicate", "reorder", "delay")
SCOPES = ("any", "request", "batch")
PHASES = ("before", "after")

# Graph documents only the 429 body; the other codes and messages are made up in its shape.
_STATUS_ERRORS = {
    500: ("generalException", "An internal server error occurred."),
    502: ("BadGateway", "The upstream service did not answer."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Retry later."),
    504: ("GatewayTimeout", "The operation timed out."),
}


class FaultPlanError(ValueError):
    """A fault rule that cannot work, with the field at fault in the message."""


@dataclass(frozen=True)
class FaultRule:
    id: str
    kind: str
    method: str = "*"
    route: str = "*"
    status: int | None = None
    retry_after: str | None = None
    latency_ms: float = 0.0
    probability: float | None = None
    every_nth: int | None = None
    times: int | None = None
    scope: str = "any"
    pages_only: bool = False
    phase: str = "before"
    seed: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any], rule_id: str) -> FaultRule:
        names = {
            "kind": "kind",
            "method": "method",
            "route": "route",
            "status": "status",
            "retryAfter": "retry_after",
            "latencyMs": "latency_ms",
            "probability": "probability",
            "everyNth": "every_nth",
            "times": "times",
            "scope": "scope",
            "pagesOnly": "pages_only",
            "phase": "phase",
            "seed": "seed",
        }
        names.update({field: field for field in names.values()})  # snake_case works too
        unknown = sorted(set(data) - set(names) - {"id"})
        if unknown:
            raise FaultPlanError(f"unknown fault fields: {', '.join(unknown)}")
        values = {names[key]: value for key, value in data.items() if key in names}
        if "retry_after" in values and values["retry_after"] is not None:
            values["retry_after"] = str(values["retry_after"])
        rule = cls(id=str(data.get("id") or rule_id), **values)
        rule.validate()
        return rule

    def validate(self) -> None:
        if self.kind not in REQUEST_KINDS + NOTIFICATION_KINDS:
            raise FaultPlanError(f"kind must be one of {REQUEST_KINDS + NOTIFICATION_KINDS}")
        if self.kind == "status" and not (
            isinstance(self.status, int) and 400 <= self.status <= 599
        ):
            raise FaultPlanError("a status fault needs status between 400 and 599")
        if self.retry_after is not None:
            try:
                float(self.retry_after)
            except ValueError:
                raise FaultPlanError("retryAfter must be a number of seconds") from None
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise FaultPlanError("probability must be between 0 and 1")
        if self.every_nth is not None and self.every_nth < 1:
            raise FaultPlanError("everyNth must be at least 1")
        if self.times is not None and self.times < 1:
            raise FaultPlanError("times must be at least 1")
        if self.scope not in SCOPES:
            raise FaultPlanError(f"scope must be one of {SCOPES}")
        if self.phase not in PHASES:
            raise FaultPlanError(f"phase must be one of {PHASES}")
        if self.phase == "after" and self.kind != "latency":
            raise FaultPlanError('phase "after" is for latency faults only')
        if self.kind == "disconnect" and self.scope == "batch":
            raise FaultPlanError("a disconnect drops an HTTP connection; it has no batch scope")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "method": self.method,
            "route": self.route,
            "status": self.status,
            "retryAfter": self.retry_after,
            "latencyMs": self.latency_ms,
            "probability": self.probability,
            "everyNth": self.every_nth,
            "times": self.times,
            "scope": self.scope,
            "pagesOnly": self.pages_only,
            "phase": self.phase,
            "seed": self.seed,
        }

    def error(self) -> GraphError:
        status = int(self.status or 500)
        if status == 429:
            return errors.too_many_requests(self.retry_after or "1")
        code, message = _STATUS_ERRORS.get(status, ("UnknownError", "Injected failure."))
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        return GraphError(status, code, message, headers=headers)


class _RuleState:
    def __init__(self, rule: FaultRule) -> None:
        self.rule = rule
        self.matches = 0
        self.fired = 0
        self.rng = random.Random(rule.seed)

    def fire(self) -> bool:
        rule = self.rule
        self.matches += 1
        if rule.times is not None and self.fired >= rule.times:
            return False
        if rule.every_nth is not None:
            hit = self.matches % rule.every_nth == 0
        elif rule.probability is not None:
            hit = self.rng.random() < rule.probability
        else:
            hit = True
        if hit:
            self.fired += 1
        return hit


def _route_matches(pattern: str, path: str, template: str | None) -> bool:
    if pattern in ("*", ""):
        return True
    if template is not None and pattern.lower() == template.lower():
        return True
    return fnmatch.fnmatchcase(path.lower(), pattern.lower())


class FaultPlan:
    def __init__(self) -> None:
        self.rules: list[_RuleState] = []
        self._ids = itertools.count(1)
        # rule id -> answers it holds back right now (`phase: "after"`): a test waits for this
        # to be sure a call took effect and its client has not heard back yet.
        self._holding: dict[str, int] = {}

    def add(self, data: dict[str, Any]) -> FaultRule:
        rule = FaultRule.from_json(data, f"fault-{next(self._ids)}")
        if any(state.rule.id == rule.id for state in self.rules):
            raise FaultPlanError(f"a fault with id {rule.id!r} already exists")
        self.rules.append(_RuleState(rule))
        return rule

    def remove(self, rule_id: str) -> bool:
        before = len(self.rules)
        self.rules = [state for state in self.rules if state.rule.id != rule_id]
        return len(self.rules) != before

    def clear(self) -> None:
        self.rules.clear()

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {
                **state.rule.to_json(),
                "matched": state.matches,
                "fired": state.fired,
                "holding": self._holding.get(state.rule.id, 0),
            }
            for state in self.rules
        ]

    async def hold(self, rules: list[FaultRule]) -> None:
        """The `phase: "after"` latency of a call that has taken effect."""
        for rule in rules:
            self._holding[rule.id] = self._holding.get(rule.id, 0) + 1
        try:
            await asyncio.sleep(sum(rule.latency_ms for rule in rules) / 1000)
        finally:
            for rule in rules:
                self._holding[rule.id] -= 1

    def for_call(
        self,
        method: str,
        path: str,
        template: str | None,
        *,
        in_batch: bool,
        is_later_page: bool,
    ) -> list[FaultRule]:
        """The request faults that fire for this call, in plan order."""
        fired = []
        for state in self.rules:
            rule = state.rule
            if rule.kind not in REQUEST_KINDS:
                continue
            if rule.scope == ("request" if in_batch else "batch"):
                continue
            if rule.kind == "disconnect" and (in_batch or (rule.pages_only and not is_later_page)):
                continue
            if rule.method.upper() not in ("*", method):
                continue
            if not _route_matches(rule.route, path, template):
                continue
            if state.fire():
                fired.append(rule)
        return fired

    def for_notification(self, url: str) -> list[FaultRule]:
        fired = []
        for state in self.rules:
            rule = state.rule
            matches = rule.kind in NOTIFICATION_KINDS and _route_matches(rule.route, url, None)
            if matches and state.fire():
                fired.append(rule)
        return fired

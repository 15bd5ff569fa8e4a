"""One user and one group: should the user be a member, and the reason in words."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from reconciler.policy import ManagedGroup
from reconciler.rules import RuleError
from reconciler.rules.explain import ClauseTrace

Basis = Literal["include", "exclude", "rule", "undecided"]


@dataclass(frozen=True, slots=True)
class Decision:
    """`member` is what the group wants; None when the rule could not decide (a regex timeout
    or a mistyped value), which means: leave the membership as it is and report an error."""

    group_id: str
    user_id: str
    member: bool | None
    basis: Basis
    error: RuleError | None = None


def decide(
    group: ManagedGroup, user_id: str, matched: bool, error: RuleError | None = None
) -> Decision:
    """Exclude wins over include, include over the rule (policy already removed excluded ids
    from include; the order here keeps that true for any input)."""
    if user_id in group.exclude:
        return Decision(group.id, user_id, False, "exclude")
    if user_id in group.include:
        return Decision(group.id, user_id, True, "include")
    if error is not None:
        return Decision(group.id, user_id, None, "undecided", error)
    return Decision(group.id, user_id, matched, "rule")


def reason_for(
    decision: Decision, group: ManagedGroup, user: dict, now: datetime | None = None
) -> str:
    """Why: the list, or the rule's deciding clauses with the user's values. An add names the
    clauses that held, a removal those that failed (rule-language.md's explain traces)."""
    if decision.basis == "exclude":
        return "in exclude list"
    if decision.basis == "include":
        return "in include list"
    if decision.basis == "undecided":
        error = decision.error
        detail = f"{error.kind}: {error.message}" if error else "undecided"
        return f"rule could not be decided ({detail}); membership left as it is"
    if group.rule is None:
        return "rule has errors"
    traces = group.rule.traces(user, now)
    wanted = bool(decision.member)
    # A clause under an odd number of -not decides the other way: `-not (accountEnabled -eq
    # false)` supports a match when the clause itself is false.
    deciding = [
        (t, positive)
        for t, positive in zip(traces, group.rule.polarities, strict=True)
        if t.result is not None and (t.result if positive else not t.result) is wanted
    ] or [(t, True) for t in traces]
    verdict = "rule matches" if wanted else "rule does not match"
    return f"{verdict}: " + ", ".join(clause_text(t, positive) for t, positive in deciding)


def clause_text(trace: ClauseTrace, positive: bool = True) -> str:
    """`department = "Sales" (-eq "Sales")`: the user's value, then the clause's test (with
    `not` when the clause sits under a -not). Long operands are shortened to one line."""
    prop = trace.property
    name = prop.split(".", 1)[1] if prop.startswith(("user.", "device.")) else trace.graph_property
    value = _JSON.encode(trace.value)
    operand = " ".join(trace.operand.split())
    if len(operand) > _OPERAND_WIDTH:
        operand = operand[: _OPERAND_WIDTH - 1] + "…"
    test = f"{trace.operator} {operand}" if positive else f"not {trace.operator} {operand}"
    return f"{name} = {value} ({test})"


_OPERAND_WIDTH = 60
# json.dumps(value, ensure_ascii=False, default=str) without building an encoder per value.
_JSON = json.JSONEncoder(ensure_ascii=False, default=str)

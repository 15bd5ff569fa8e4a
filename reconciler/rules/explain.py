"""Why a rule matched a user or not: every clause with the user's value and its result."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from .errors import RuleError
from .nodes import Clause, CollectionTest, Comparison, MemberOf
from .properties import Property


@dataclass(frozen=True, slots=True)
class ClauseTrace:
    """One leaf of the rule as it was decided for one user; result None means undecided."""

    text: str
    property: str
    graph_property: str
    value: object
    operator: str
    operand: str
    result: bool | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    rule: str
    result: bool | None  # None: undecided (a regex timeout or a value of the wrong type)
    traces: tuple[ClauseTrace, ...]
    error: RuleError | None = None  # why it is undecided

    @property
    def clauses(self) -> list[dict]:
        return [
            {k: v for k, v in asdict(t).items() if k != "error" or v is not None}
            for t in self.traces
        ]

    def to_dict(self) -> dict:
        return {"rule": self.rule, "result": self.result, "clauses": self.clauses}

    def __str__(self) -> str:
        verdict = {True: "MATCH", False: "NO MATCH", None: "UNDECIDED"}[self.result]
        lines = [f"{verdict}: {_one_line(self.rule)}"]
        width = max((len(_one_line(t.text)) for t in self.traces), default=0)
        for t in self.traces:
            mark = {True: "✓", False: "✗", None: "?"}[t.result]
            source = (
                t.graph_property
                if t.graph_property == t.property.split(".", 1)[-1]
                else (f"{t.property.split('.', 1)[-1]} = Graph {t.graph_property}")
            )
            detail = f"{source}: {_show(t.value)}"
            if t.error:
                detail += f"  ({t.error})"
            lines.append(f"  {mark} {_one_line(t.text).ljust(width)}   {detail}")
        return "\n".join(lines)


def _one_line(text: str) -> str:
    # Rules from TOML files often span lines; a trace row must not.
    return " ".join(text.split())


def _show(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, default=str)


def describe_clause(clause: Clause, object_type: str) -> tuple[str, str, str, str]:
    """(property, graph property, operator, operand) as a person reads them."""
    if isinstance(clause, Comparison):
        subject = clause.subject
        if isinstance(subject, Property):
            prop, graph = f"{object_type}.{subject.name}", subject.graph_name
        else:  # the element inside an -any/-all body
            prop = graph = subject.name
        return prop, graph, clause.operator, clause.operand_text
    if isinstance(clause, CollectionTest):
        return (
            f"{object_type}.{clause.subject.name}",
            clause.subject.graph_name,
            clause.quantifier,
            f"({clause.body_text})",
        )
    if isinstance(clause, MemberOf):
        return f"{object_type}.memberOf", "memberOf", "-any", "group.objectId -in [...]"
    return "Direct Reports", "manager.id", "for", f'"{clause.manager_id}"'

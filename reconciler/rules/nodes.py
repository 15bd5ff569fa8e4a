"""The syntax tree of a parsed rule: small frozen nodes with their place in the rule text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .patterns import Pattern
from .properties import Property
from .values import Duration


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ItemRef:
    """The current element inside an -any/-all body: `_` (field None) or assignedPlan.<field>."""

    field: Property | None
    name: str


@dataclass(frozen=True, slots=True)
class DateOperand:
    """A fixed instant, or system.now shifted by a duration, resolved at evaluation time."""

    moment: datetime | None  # None means system.now
    sign: int = 1
    duration: Duration | None = None


# An operand after validation: None (null), str (already case-folded), bool, DateOperand,
# or frozenset[str] (case-folded -in items).
Operand = None | str | bool | DateOperand | frozenset


@dataclass(frozen=True, slots=True)
class Comparison:
    subject: Property | ItemRef
    operator: str  # canonical spelling, e.g. "-startsWith"
    operand: Operand
    pattern: Pattern | None  # -match/-notMatch only
    span: Span
    operand_text: str  # the operand as written, for explanations


@dataclass(frozen=True, slots=True)
class CollectionTest:
    subject: Property
    quantifier: str  # "-any" or "-all"
    body: Node
    span: Span
    body_text: str


@dataclass(frozen=True, slots=True)
class MemberOf:
    group_ids: frozenset[str]  # case-folded
    span: Span


@dataclass(frozen=True, slots=True)
class DirectReports:
    manager_id: str  # case-folded
    span: Span


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    span: Span


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    span: Span


Node = Comparison | CollectionTest | MemberOf | DirectReports | Not | And | Or
Clause = Comparison | CollectionTest | MemberOf | DirectReports


def clauses(node: Node) -> list[Clause]:
    """The leaves an explanation reports, in rule order (lambda bodies stay inside their test)."""
    if isinstance(node, And | Or):
        return [leaf for child in node.children for leaf in clauses(child)]
    if isinstance(node, Not):
        return clauses(node.child)
    return [node]


def polarities(node: Node, positive: bool = True) -> list[bool]:
    """For each leaf in `clauses()` order: True when it is under an even number of -not, so
    the clause supports a match when it holds (False: when it fails)."""
    if isinstance(node, And | Or):
        return [sign for child in node.children for sign in polarities(child, positive)]
    if isinstance(node, Not):
        return polarities(node.child, not positive)
    return [positive]

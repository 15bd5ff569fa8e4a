"""A parsed, validated and compiled rule: what other parts evaluate, explain and $select for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property

from .compiler import Predicate, compile_getter, compile_predicate
from .errors import RuleError
from .explain import ClauseTrace, Explanation, combine, describe_clause
from .nodes import (
    And,
    Clause,
    CollectionTest,
    Comparison,
    DateOperand,
    DirectReports,
    MemberOf,
    Node,
    Not,
    Or,
    clauses,
)
from .parser import Parser
from .patterns import DEFAULT_TIMEOUT_SECONDS
from .properties import Property

ENTRA_MAX_LENGTH = 3072


class Rule:
    """One membership rule; `matches` runs a single compiled function."""

    def __init__(self, text: str, object_type: str, tree: Node) -> None:
        self.text = text
        self.object_type = object_type
        self.tree = tree
        self.predicate: Predicate = compile_predicate(tree)  # (user, now) -> bool, now resolved
        props = _properties(tree)
        self.select: frozenset[str] = frozenset({"id", *(p.select for p in props)})
        self.needs_manager = any(isinstance(c, DirectReports) for c in clauses(tree))
        self.needs_member_of = any(isinstance(c, MemberOf) for c in clauses(tree))
        self.uses_now = _uses_now(tree)

    def __repr__(self) -> str:
        return f"Rule({self.text!r})"

    def matches(self, user: dict, now: datetime | None = None) -> bool:
        """Raises RuleError(kind="RegexTimeout") when a -match cannot be decided in time."""
        if now is None and self.uses_now:
            now = datetime.now(UTC)
        return self.predicate(user, now)

    def explain(self, user: dict, now: datetime | None = None) -> Explanation:
        if now is None and self.uses_now:
            now = datetime.now(UTC)
        traces: list[ClauseTrace] = []
        results: dict[int, bool | None] = {}
        for clause, predicate, getter in self._clause_evaluators:
            error = None
            try:
                result: bool | None = predicate(user, now)
            except RuleError as exc:
                result, error = None, exc.message
            results[id(clause)] = result
            prop, graph, operator, operand = describe_clause(clause, self.object_type)
            text = self.text[clause.span.start : clause.span.end]
            traces.append(
                ClauseTrace(text, prop, graph, getter(user), operator, operand, result, error)
            )
        return Explanation(self.text.strip(), combine(self.tree, results), tuple(traces))

    @cached_property
    def _clause_evaluators(self) -> list[tuple[Clause, Predicate, object]]:
        # Compiled on first explain only: the hot path never needs per-clause functions.
        return [(c, compile_predicate(c, "clause"), _value_reader(c)) for c in clauses(self.tree)]


def parse(
    text: str,
    *,
    object_type: str = "user",
    max_length: int | None = ENTRA_MAX_LENGTH,
    regex_timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Rule:
    """Validate like Entra and compile; `max_length=None` lifts Entra's 3,072-character limit."""
    if object_type not in ("user", "device"):
        raise ValueError(f"object_type must be 'user' or 'device', not {object_type!r}")
    if not isinstance(text, str):
        raise TypeError(f"a rule is a string, not {type(text).__name__}")
    if max_length is not None and len(text) > max_length:
        raise RuleError(
            "RuleTooLong",
            f"the rule has {len(text)} characters; Entra allows at most {max_length} "
            "(split it across groups, or lift the limit explicitly if it never goes to Entra)",
            0,
        )
    tree = Parser(text, object_type, regex_timeout).parse()
    return Rule(text, object_type, tree)


def _value_reader(clause: Clause) -> Callable[[dict], object]:
    if isinstance(clause, Comparison | CollectionTest) and isinstance(clause.subject, Property):
        return compile_getter(clause.subject)
    if isinstance(clause, MemberOf):
        return lambda user: [g.get("id") for g in user.get("memberOf") or ()]
    if isinstance(clause, DirectReports):
        return lambda user: (user.get("manager") or {}).get("id")
    return lambda user: None


def _properties(node: Node) -> list[Property]:
    found: list[Property] = []
    for clause in clauses(node):
        subject = getattr(clause, "subject", None)
        if isinstance(subject, Property):
            found.append(subject)
    return found


def _uses_now(node: Node) -> bool:
    if isinstance(node, And | Or):
        return any(_uses_now(c) for c in node.children)
    if isinstance(node, Not):
        return _uses_now(node.child)
    if isinstance(node, CollectionTest):
        return _uses_now(node.body)
    if isinstance(node, Comparison):
        return isinstance(node.operand, DateOperand) and node.operand.moment is None
    return False

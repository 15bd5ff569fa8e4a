"""A parsed, validated and compiled rule: what other parts evaluate, explain and $select for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property, partial

from .checks import MANAGER_ID, shown_value
from .compiler import Predicate, compile_predicate
from .errors import RuleError
from .explain import ClauseTrace, Explanation, describe_clause
from .kleene import Outcome, ThreeValued
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
    polarities,
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
        # (user, now) -> bool, now resolved; raises RuleError when the user is undecided.
        self.predicate: Predicate = compile_predicate(tree, object_type, self._decide_slowly)
        props = _properties(tree)
        self.select: frozenset[str] = frozenset({"id", *(p.select for p in props)})
        self.needs_manager = any(isinstance(c, DirectReports) for c in clauses(tree))
        self.needs_member_of = any(isinstance(c, MemberOf) for c in clauses(tree))
        self.uses_now = _uses_now(tree)
        self.polarities: tuple[bool, ...] = tuple(polarities(tree))  # per clause, see nodes.py

    def __repr__(self) -> str:
        return f"Rule({self.text!r})"

    def matches(self, user: dict, now: datetime | None = None) -> bool:
        """Raises RuleError when the rule cannot decide for this user: kind "RegexTimeout"
        (a -match ran out of time) or "AttributeTypeMismatch" (a value of the wrong type)."""
        if now is None and self.uses_now:
            now = datetime.now(UTC)
        return self.predicate(user, now)

    def explain(self, user: dict, now: datetime | None = None) -> Explanation:
        if now is None and self.uses_now:
            now = datetime.now(UTC)
        outcomes = self._three_valued.outcomes(user, now)
        verdict, error = self._three_valued.combine(outcomes)
        return Explanation(self.text.strip(), verdict, self._traces(user, outcomes), error)

    def traces(self, user: dict, now: datetime | None = None) -> tuple[ClauseTrace, ...]:
        """`explain(...).traces` without the verdict, for callers that know it already (the
        planner's reasons, once per change)."""
        if now is None and self.uses_now:
            now = datetime.now(UTC)
        return self._traces(user, self._three_valued.outcomes(user, now))

    def _traces(self, user: dict, outcomes: list[Outcome]) -> tuple[ClauseTrace, ...]:
        traces = []
        for (show, text, prop, graph, operator, operand), (result, error) in zip(
            self._descriptions, outcomes, strict=True
        ):
            message = None if error is None else error.message
            traces.append(
                ClauseTrace(text, prop, graph, show(user), operator, operand, result, message)
            )
        return tuple(traces)

    def _decide_slowly(self, user: dict, now: datetime | None) -> bool:
        """The compiled function could not read a value (or a regex timed out): decide clause
        by clause as `explain` does, and raise the first reason when that stays undecided."""
        result, error = self._three_valued.combine(self._three_valued.outcomes(user, now))
        if result is None:
            assert error is not None
            raise error
        return result

    @cached_property
    def _descriptions(self) -> tuple[tuple[Callable[[dict], object], str, str, str, str, str], ...]:
        """Each clause's reader of the value shown, its text, property, Graph property,
        operator and operand: the same for every user, so made once, not per explanation."""

        def describe(clause: Clause) -> tuple[str, str, str, str]:
            return describe_clause(clause, self.object_type)

        return tuple(
            (_shown(clause), self.text[clause.span.start : clause.span.end], *describe(clause))
            for clause in self._three_valued.clauses
        )

    @cached_property
    def _three_valued(self) -> ThreeValued:
        # Compiled on first need only: the hot path never needs per-clause functions.
        return ThreeValued(self.tree, self.object_type)


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


def _shown(clause: Clause) -> Callable[[dict], object]:
    """Reads the value a clause reads, as shown in explanations (a mistyped value as is)."""
    if isinstance(clause, Comparison | CollectionTest) and isinstance(clause.subject, Property):
        return partial(shown_value, clause.subject)
    if isinstance(clause, MemberOf):
        return _member_of_ids
    if isinstance(clause, DirectReports):
        return partial(shown_value, MANAGER_ID)
    return lambda _: None


def _member_of_ids(obj: dict) -> object:
    entries = obj.get("memberOf")
    if not isinstance(entries, list):
        return entries
    return [e.get("id") if isinstance(e, dict) else e for e in entries]


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

"""Three-valued (Kleene) evaluation, clause by clause: true, false or undecided with a reason.

Used by explanations, and by a compiled rule for the rare user it could not read (a mistyped
value or a regex timeout). A clause is undecided when a value it needs is mistyped or its
regex ran out of time; -and, -or, -not, -any and -all then follow Kleene's logic: `true -or
undecided` is true and `false -and undecided` is false, because the answer is the same
whatever the unreadable value meant. Every other combination with an undecided part is
undecided. The compiled function short-circuits the same way, so both always agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from functools import partial

from .checks import read, read_item
from .compiler import Predicate, compile_predicate
from .errors import RuleError
from .nodes import And, Clause, CollectionTest, Comparison, ItemRef, Node, Not, Or, clauses
from .properties import Property, PropType

Outcome = tuple[bool | None, RuleError | None]  # (None, the reason) when undecided


def evaluate(node: Node, leaf: Callable[[Clause], Outcome]) -> Outcome:
    """The outcome of `node` from its leaves' outcomes."""
    if isinstance(node, Not):
        result, error = evaluate(node.child, leaf)
        return (None if result is None else not result), error
    if isinstance(node, And | Or):
        return junction((evaluate(c, leaf) for c in node.children), isinstance(node, And))
    return leaf(node)


def junction(outcomes: Iterable[Outcome], conjunction: bool) -> Outcome:
    """-and (conjunction) or -or of outcomes: one false (true) decides, else one undecided
    leaves it undecided with the first reason. -all and -any over items are the same."""
    decisive = not conjunction
    first_error: RuleError | None = None
    for result, error in outcomes:
        if result is decisive:
            return decisive, None
        if result is None and first_error is None:
            first_error = error
    return (None, first_error) if first_error is not None else (conjunction, None)


class ThreeValued:
    """A rule's clauses compiled one by one, with per-element tests for -any/-all bodies.

    Each clause gets one runner, `(obj, now) -> Outcome`, chosen when the rule is compiled,
    so deciding a clause costs one call plus its compiled test.
    """

    def __init__(self, tree: Node, owner: str) -> None:
        self.tree = tree
        self.owner = owner  # "user" or "device"
        self.clauses = clauses(tree)
        self._tests: dict[int, Predicate] = {}
        self._runners = [self._runner(clause) for clause in self.clauses]

    def outcomes(self, obj: dict, now: datetime | None) -> list[Outcome]:
        """Each clause's outcome, in `clauses()` order."""
        return [run(obj, now) for run in self._runners]

    def combine(self, outcomes: list[Outcome]) -> Outcome:
        """The rule's outcome from `outcomes()`."""
        by_clause = {id(c): outcome for c, outcome in zip(self.clauses, outcomes, strict=True)}
        return evaluate(self.tree, lambda clause: by_clause[id(clause)])

    def _runner(self, clause: Clause) -> Callable[[dict, datetime | None], Outcome]:
        collection = _collection(clause)
        if collection is not None:
            prop, body, every = collection
            for leaf in clauses(body):
                self._tests[id(leaf)] = compile_predicate(leaf, self.owner, arg="it")
            return lambda obj, now: self._quantified(prop, body, every, obj, now)
        test = compile_predicate(clause, self.owner)
        subject = getattr(clause, "subject", None)
        owner = self.owner

        def diagnose(obj: object) -> None:
            # memberOf and Direct Reports raise their own RuleError; a property is read here.
            if isinstance(subject, Property):
                read(subject, obj, owner)

        return partial(_attempt, test, diagnose)  # a C call, not one more Python frame

    def _quantified(
        self, prop: Property, body: Node, every: bool, obj: dict, now: datetime | None
    ) -> Outcome:
        """-any/-all element by element, so one element of the wrong type leaves the clause
        undecided only when the others do not decide it."""
        try:
            items = read(prop, obj, self.owner) or []
        except RuleError as error:
            return None, error
        assert isinstance(items, list)
        where = f"{self.owner}.{prop.name}"
        return junction(
            (self._element(body, item, f"{where}[{n}]", now) for n, item in enumerate(items)),
            every,
        )

    def _element(self, body: Node, item: object, where: str, now: datetime | None) -> Outcome:
        def leaf(clause: Clause) -> Outcome:
            assert isinstance(clause, Comparison) and isinstance(clause.subject, ItemRef)
            field = clause.subject.field
            test = self._tests[id(clause)]
            return _attempt(test, lambda _: read_item(item, field, where), item, now)

        return evaluate(body, leaf)


def _collection(clause: Clause) -> tuple[Property, Node, bool] | None:
    """(collection, body, is -all) when the clause tests a collection element by element:
    -any/-all, and a direct operator on a string collection, which means -any (_ <op> x)."""
    if isinstance(clause, CollectionTest):
        return clause.subject, clause.body, clause.quantifier == "-all"
    subject = getattr(clause, "subject", None)
    if (
        isinstance(clause, Comparison)
        and isinstance(subject, Property)
        and subject.type is PropType.STRING_COLLECTION
        and clause.operand is not None
    ):
        return subject, replace(clause, subject=ItemRef(None, "_")), False
    return None


def _attempt(
    test: Predicate, diagnose: Callable[[object], object], obj: object, now: datetime | None
) -> Outcome:
    """Run a compiled test; when it cannot read a value, `diagnose` raises the RuleError that
    names it. A fault the checks do not explain is a bug and propagates."""
    try:
        return test(obj, now), None
    except RuleError as error:
        return None, error
    except (AttributeError, TypeError):
        try:
            diagnose(obj)
        except RuleError as error:
            return None, error
        raise

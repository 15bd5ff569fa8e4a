"""Compiles a syntax tree once into one plain Python function, so evaluation walks no tree.

The tree becomes the source of a single `def` whose body is one boolean expression with the
rule's constants inlined (strings through repr(), objects by name), then `compile()`d. That
runs as fast as the same rule written by hand. Rule text never reaches the source except as
repr()-quoted literals, so no rule can inject code.

Values are read unchecked: a value of the wrong type makes the expression raise
(AttributeError, TypeError; falsy and other values that would pass silently go through
`_reject`), and the function hands the user to its `fallback`, which decides clause by clause
and names the mistyped value (kleene.py). The checks cost nothing on the happy path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

from . import operators as ops
from .checks import member_of, reports_to
from .errors import RuleError
from .nodes import (
    And,
    CollectionTest,
    Comparison,
    DateOperand,
    DirectReports,
    ItemRef,
    MemberOf,
    Node,
    Not,
    Or,
)
from .properties import Property, PropType
from .values import graph_datetime

Predicate = Callable[[Any, datetime | None], bool]
Getter = Callable[[dict], Any]

_EMPTY: dict = {}
# What the compiled function gives up on; RuleError is a regex timeout or a mistyped memberOf.
_FAULTS = (AttributeError, TypeError, RuleError)


def _reject() -> NoReturn:
    """Gives up on a value of the wrong type that no operation on it would reject."""
    raise TypeError("mistyped value")


def _first(values: object) -> object:
    if isinstance(values, list):
        return values[0] if values else None
    return None if values is None else _reject()


def _text(value: object) -> str | None:
    # Directory extensions may hold booleans or integers; rules compare them as text.
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    _reject()


def _date(value: object) -> datetime | None:
    moment = graph_datetime(value)
    if moment is None and value is not None and value != "":
        _reject()
    return moment


_RUNTIME = {
    "_EMPTY": _EMPTY,
    "_reject": _reject,
    "_first": _first,
    "_text": _text,
    "_date": _date,
    "_member_of": member_of,
    "_reports_to": reports_to,
    "_FAULTS": _FAULTS,
}
_BUILTINS = {"any": any, "all": all, "bool": bool, "str": str, "list": list}


class _Source:
    """Builds one expression's source and the named objects it refers to."""

    def __init__(self, owner: str) -> None:
        self.owner = owner  # "user" or "device", for the messages of memberOf and Direct Reports
        self.names: dict[str, object] = {}
        self.counter = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def constant(self, value: object) -> str:
        name = self.fresh("k")
        self.names[name] = value
        return name

    # -- reading values ----------------------------------------------------------------------

    def getter(self, prop: Property, obj: str) -> str:
        expr = f"{obj}.get({prop.path[0]!r})"
        for key in prop.path[1:]:
            container = self.fresh("c")
            # Null reads as an empty object; any other falsy value ("", 0, []) is mistyped.
            legal = f"{container} is None or {container} == _EMPTY"
            expr = f"(({container} := {expr}) or (_EMPTY if {legal} else _reject()))"
            expr = f"{expr}.get({key!r})"
        if prop.index is not None:
            expr = f"_first({expr})"
        if prop.name.startswith("extension_"):
            expr = f"_text({expr})"
        return expr

    def subject(self, subject: Property | ItemRef, obj: str) -> str:
        if isinstance(subject, Property):
            return self.getter(subject, obj)
        if subject.field is None:
            return "it"
        return self.getter(subject.field, "it")

    # -- nodes -------------------------------------------------------------------------------

    def node(self, node: Node, obj: str = "u") -> str:
        if isinstance(node, And):
            return "(" + " and ".join(self.node(c, obj) for c in node.children) + ")"
        if isinstance(node, Or):
            return "(" + " or ".join(self.node(c, obj) for c in node.children) + ")"
        if isinstance(node, Not):
            return f"(not {self.node(node.child, obj)})"
        if isinstance(node, Comparison):
            return self.comparison(node, obj)
        if isinstance(node, CollectionTest):
            quantifier = "any" if node.quantifier == "-any" else "all"
            body = self.node(node.body, "it")
            return self.items(quantifier, body, self.getter(node.subject, obj))
        if isinstance(node, MemberOf):
            return f"_member_of({obj}, {self.constant(node.group_ids)}, {self.owner!r})"
        if isinstance(node, DirectReports):
            return f"_reports_to({obj}, {node.manager_id!r}, {self.owner!r})"
        raise TypeError(f"unknown node {node!r}")

    def comparison(self, node: Comparison, obj: str) -> str:
        value = self.subject(node.subject, obj)
        kind = node.subject.type if isinstance(node.subject, Property) else PropType.STRING
        if kind is PropType.BOOLEAN:
            return self.boolean(node, value)
        if kind is PropType.DATETIME:
            return self.date(node, value)
        if node.operand is None:  # -eq null / -ne null, also on collections (INTERFACES.md)
            test = self.is_null(value, "list" if kind is PropType.STRING_COLLECTION else "str")
            return test if node.operator == "-eq" else f"(not {test})"
        positive = ops.NEGATED.get(node.operator, node.operator)
        negate = positive != node.operator
        if kind is PropType.STRING_COLLECTION:
            # rule-language.md §6.3: a direct operator on a collection means -any (_ <op> x).
            item_test = self.string_test(positive, node, "it")
            item_test = f"(not {item_test})" if negate else item_test
            return self.items("any", item_test, value)
        test = self.string_test(positive, node, value)
        return f"(not {test})" if negate else test

    def items(self, quantifier: str, body: str, value: str) -> str:
        """any/all of `body` over a collection; null is empty, a non-list is mistyped."""
        var = self.fresh("c")
        empty = quantifier == "all"
        return (
            f"({quantifier}({body} for it in {var}) if ({var} := {value}).__class__ is list "
            f"else {empty} if {var} is None else _reject())"
        )

    def is_null(self, value: str, cls: str) -> str:
        """-eq null: None, "" or an empty list; a value of another class than `cls` is mistyped."""
        var = self.fresh("n")
        legal = f"({var} := {value}) is None or {var}.__class__ is {cls}"
        return f"(not {var} if {legal} else _reject())"

    def string_test(self, op: str, node: Comparison, value: str) -> str:
        """A positive string test; a null or empty value fails it (rule-language.md §6.2).

        A truthy value that is not a string fails `.casefold()` or the search; a falsy one
        must be None or "" (`null_case`).
        """
        var = self.fresh("v")
        folded = f"{var}.casefold()"
        operand = node.operand
        on_null = False
        if op == "-eq":
            test = f"{folded} == {operand!r}"
        elif op == "-startsWith":
            test = f"{folded}.startswith({operand!r})"
        elif op == "-endsWith":
            test = f"{folded}.endswith({operand!r})"
        elif op == "-contains":
            test = f"{operand!r} in {folded}"
        elif op == "-match":
            test = f"{self.constant(node.pattern)}.search({var})"
        elif op == "-in":
            assert isinstance(operand, frozenset)
            test = f"{folded} in {self.constant(operand)}"
            on_null = "" in operand  # "" stands for null (INTERFACES.md)
        else:
            raise ValueError(f"not a string operator: {op}")
        return f"({test} if ({var} := {value}) else {self.null_case(var, on_null)})"

    @staticmethod
    def null_case(var: str, result: bool) -> str:
        """`result` for a falsy `var` that is null (None or ""); any other falsy is mistyped."""
        if result:
            return f"({var} is None or {var} == '' or _reject())"
        return f"({var} is not None and {var} != '' and _reject())"

    def boolean(self, node: Comparison, value: str) -> str:
        """`is` the operand; a value that is none of true, false and null is mistyped."""
        var = self.fresh("b")
        others = " and ".join(
            f"{var} is not {legal!r}" for legal in (True, False, None) if legal is not node.operand
        )
        test = f"(({var} := {value}) is {node.operand!r} or ({others} and _reject()))"
        return test if node.operator == "-eq" else f"(not {test})"

    def date(self, node: Comparison, value: str) -> str:
        if node.operand is None:
            test = f"(_date({value}) is None)"
            return test if node.operator == "-eq" else f"(not {test})"
        assert isinstance(node.operand, DateOperand)
        bound = self.date_operand(node.operand)
        var = self.fresh("d")
        python_op = {"-eq": "==", "-ne": "==", "-le": "<=", "-ge": ">="}[node.operator]
        test = f"(({var} := _date({value})) is not None and {var} {python_op} {bound})"
        return f"(not {test})" if node.operator == "-ne" else test

    def date_operand(self, operand: DateOperand) -> str:
        base = "now" if operand.moment is None else self.constant(operand.moment)
        if operand.duration is None:
            return base
        return f"{self.constant(operand.duration)}.added_to({base}, {operand.sign})"


def compile_predicate(
    node: Node, owner: str = "user", fallback: Predicate | None = None, arg: str = "u"
) -> Predicate:
    """One function `(obj, now) -> bool` for the whole tree (or for one clause of it).

    With a `fallback`, a user the expression cannot read is handed to it instead of raising;
    `arg="it"` compiles a clause of an -any/-all body, for one element of the collection.
    """
    source = _Source(owner)
    # `True if x else False` is bool(x) without a call: a fifth of a short rule's time.
    expr = f"True if {source.node(node, arg)} else False"
    if fallback is None:
        body = f"    return {expr}\n"
    else:
        source.names["_fallback"] = fallback
        body = (
            f"    try:\n        return {expr}\n"
            f"    except _FAULTS:\n        return _fallback({arg}, now)\n"
        )
    return _define(f"def compiled({arg}, now):\n{body}", source)


def compile_getter(prop: Property, finish: str = "v") -> Getter:
    """Reads one property exactly as the compiled rule does (unchecked), for indexes.

    `finish` is an expression of the value `v` (fixed code, never rule text) that the index
    applies to it, compiled into the same function to save a call per user and property.
    """
    source = _Source("user")
    code = f"def compiled(u):\n    v = {source.getter(prop, 'u')}\n    return {finish}\n"
    return _define(code, source)


def compile_getters(reads: Sequence[tuple[Property, str]]) -> Callable[[dict], list]:
    """`compile_getter` for many properties at once: one function returning the list of
    their finished values, since an index reads every one of them for every user."""
    source = _Source("user")
    lines = [
        f"    v = {source.getter(prop, 'u')}\n    r{n} = {finish}\n"
        for n, (prop, finish) in enumerate(reads)
    ]
    results = ", ".join(f"r{n}" for n in range(len(reads)))
    return _define("def compiled(u):\n" + "".join(lines) + f"    return [{results}]\n", source)


def _define(code: str, source: _Source) -> Any:
    return define(code, source.names)


def define(code: str, names: Mapping[str, object]) -> Any:
    """The function `code` defines (named `compiled`), with the runtime helpers, a few
    builtins and `names` in scope: generated code never reaches other builtins."""
    namespace: dict[str, object] = {"__builtins__": _BUILTINS, **_RUNTIME, **names}
    exec(compile(code, "<rule>", "exec"), namespace)
    return namespace["compiled"]

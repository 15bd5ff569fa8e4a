"""Compiles a syntax tree once into one plain Python function, so evaluation walks no tree.

The tree becomes the source of a single `def` whose body is one boolean expression with the
rule's constants inlined (strings through repr(), objects by name), then `compile()`d. That
runs as fast as the same rule written by hand. Rule text never reaches the source except as
repr()-quoted literals, so no rule can inject code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import operators as ops
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

Predicate = Callable[[dict, datetime | None], bool]
Getter = Callable[[dict], Any]

_EMPTY: dict = {}
_GROUP_TYPE = "#microsoft.graph.group"


def _first(values: object) -> object:
    return values[0] if isinstance(values, list) and values else None


def _text(value: object) -> str | None:
    # Directory extensions may hold booleans or integers; rules compare them as text.
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _member_of(user: dict, group_ids: frozenset[str]) -> bool:
    for entry in user.get("memberOf") or ():
        if entry.get("@odata.type", _GROUP_TYPE) == _GROUP_TYPE:
            group_id = entry.get("id")
            if group_id and group_id.casefold() in group_ids:
                return True
    return False


def _reports_to(user: dict, manager_id: str) -> bool:
    # rule-language.md §9.1: only direct reports count; the 2026 docs add the manager itself.
    manager = user.get("manager") or _EMPTY
    return (manager.get("id") or "").casefold() == manager_id or (
        user.get("id") or ""
    ).casefold() == manager_id


_RUNTIME = {
    "_EMPTY": _EMPTY,
    "_first": _first,
    "_text": _text,
    "_date": graph_datetime,
    "_member_of": _member_of,
    "_reports_to": _reports_to,
}


class _Source:
    """Builds one expression's source and the named objects it refers to."""

    def __init__(self) -> None:
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
            expr = f"({expr} or _EMPTY).get({key!r})"
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
            return f"{quantifier}({body} for it in ({self.getter(node.subject, obj)} or ()))"
        if isinstance(node, MemberOf):
            return f"_member_of({obj}, {self.constant(node.group_ids)})"
        if isinstance(node, DirectReports):
            return f"_reports_to({obj}, {node.manager_id!r})"
        raise TypeError(f"unknown node {node!r}")

    def comparison(self, node: Comparison, obj: str) -> str:
        value = self.subject(node.subject, obj)
        kind = node.subject.type if isinstance(node.subject, Property) else PropType.STRING
        if kind is PropType.BOOLEAN:
            return self.boolean(node, value)
        if kind is PropType.DATETIME:
            return self.date(node, value)
        if node.operand is None:  # -eq null / -ne null, also on collections (INTERFACES.md)
            return f"(not {value})" if node.operator == "-eq" else f"(not not {value})"
        positive = ops.NEGATED.get(node.operator, node.operator)
        negate = positive != node.operator
        if kind is PropType.STRING_COLLECTION:
            # rule-language.md §6.3: a direct operator on a collection means -any (_ <op> x).
            item_test = self.string_test(positive, node, "it")
            item_test = f"(not {item_test})" if negate else item_test
            return f"any({item_test} for it in ({value} or ()))"
        test = self.string_test(positive, node, value)
        return f"(not {test})" if negate else test

    def string_test(self, op: str, node: Comparison, value: str) -> str:
        """A positive string test; a null or empty value fails it (rule-language.md §6.2)."""
        var = self.fresh("v")
        bind = f"({var} := {value})"
        folded = f"{var}.casefold()"
        operand = node.operand
        if op == "-eq":
            return f"({bind} and {folded} == {operand!r})"
        if op == "-startsWith":
            return f"({bind} and {folded}.startswith({operand!r}))"
        if op == "-endsWith":
            return f"({bind} and {folded}.endswith({operand!r}))"
        if op == "-contains":
            return f"({bind} and {operand!r} in {folded})"
        if op == "-match":
            return f"({bind} and {self.constant(node.pattern)}.search({var}))"
        if op == "-in":
            assert isinstance(operand, frozenset)
            items = self.constant(operand)
            if "" in operand:  # "" stands for null (INTERFACES.md)
                return f"(not {bind} or {folded} in {items})"
            return f"({bind} and {folded} in {items})"
        raise ValueError(f"not a string operator: {op}")

    def boolean(self, node: Comparison, value: str) -> str:
        identity = "is" if node.operator == "-eq" else "is not"
        return f"({value} {identity} {node.operand!r})"

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


def compile_predicate(node: Node, label: str = "rule") -> Predicate:
    """One function `(user, now) -> bool` for the whole tree (or for one clause of it)."""
    source = _Source()
    expr = source.node(node)
    code = f"def {label}(u, now):\n    return bool({expr})\n"
    namespace: dict[str, object] = {"__builtins__": {"any": any, "all": all, "bool": bool}}
    namespace.update(_RUNTIME)
    namespace.update(source.names)
    exec(compile(code, f"<{label}>", "exec"), namespace)
    return namespace[label]  # type: ignore[return-value]


def compile_getter(prop: Property) -> Getter:
    """Reads one property exactly as the compiled rule does, for explanations and indexes."""
    source = _Source()
    namespace: dict[str, object] = {"__builtins__": {}}
    namespace.update(_RUNTIME)
    exec(
        compile(f"def get(u):\n    return {source.getter(prop, 'u')}\n", "<get>", "exec"), namespace
    )
    return namespace["get"]  # type: ignore[return-value]

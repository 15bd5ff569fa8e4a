"""OData `$filter` for directory objects: parse once, compile to a predicate over stored dicts.

Supported: `eq`, `ne`, `ge`, `le`, `gt`, `lt`, `in (...)`, `startswith()`, `endswith()`, `and`,
`or`, `not`, parentheses, property paths (`onPremisesExtensionAttributes/extensionAttribute1`),
and `any()` lambdas on collections. As in Graph, string comparisons ignore case, and `ne`,
`not` and `endswith` are advanced queries: they need `ConsistencyLevel: eventual` and
`$count=true`, or the request fails with 400 Request_UnsupportedQuery.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graph_emulator.errors import GraphError
from graph_emulator.schema import PropertySet

Predicate = Callable[[dict[str, Any]], bool]
Getter = Callable[[dict[str, Any], dict[str, Any]], Any]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<datetime>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)
      | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<name>[A-Za-z_$][\w.]*)
      | (?P<punct>[(),/:])
    )""",
    re.VERBOSE,
)
_COMPARISONS = {"eq", "ne", "ge", "le", "gt", "lt"}
_ADVANCED_ONLY = {"ne", "not", "endswith"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


class _Syntax(Exception):
    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


def _tokenize(text: str) -> list[_Token]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip() == "":
                break
            raise _Syntax(position)
        kind = match.lastgroup or "punct"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _normalise_datetime(text: str) -> str:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Parser:
    def __init__(self, text: str, properties: PropertySet, advanced: bool) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.properties = properties
        self.advanced = advanced
        self.variables: set[str] = set()

    # -- token helpers --
    def peek(self, offset: int = 0) -> _Token | None:
        position = self.index + offset
        return self.tokens[position] if position < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _Syntax(len(self.text))
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text.lower() != text:
            raise _Syntax(token.position)

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "name" and token.text.lower() in words

    def require_advanced(self, feature: str, property_name: str) -> None:
        if feature in _ADVANCED_ONLY and not self.advanced:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                f"Unsupported or invalid query filter clause specified for property "
                f"'{property_name}' of resource '{self.properties.type_name.capitalize()}'.",
            )

    # -- grammar --
    def parse(self) -> Predicate:
        predicate = self.or_expr()
        if self.peek() is not None:
            raise _Syntax(self.take().position)
        return lambda item: predicate(item, {})

    def or_expr(self) -> Callable[[dict, dict], bool]:
        parts = [self.and_expr()]
        while self.at_word("or"):
            self.take()
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda item, scope: any(part(item, scope) for part in parts)

    def and_expr(self) -> Callable[[dict, dict], bool]:
        parts = [self.not_expr()]
        while self.at_word("and"):
            self.take()
            parts.append(self.not_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda item, scope: all(part(item, scope) for part in parts)

    def not_expr(self) -> Callable[[dict, dict], bool]:
        if self.at_word("not"):
            self.take()
            inner = self.not_expr()
            self.require_advanced("not", "not")
            return lambda item, scope: not inner(item, scope)
        return self.primary()

    def primary(self) -> Callable[[dict, dict], bool]:
        token = self.peek()
        if token is None:
            raise _Syntax(len(self.text))
        if token.text == "(":
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        nxt = self.peek(1)
        if token.kind == "name" and nxt is not None and nxt.text == "(":
            return self.function()
        return self.comparison()

    def function(self) -> Callable[[dict, dict], bool]:
        name_token = self.take()
        name = name_token.text.lower()
        if name not in ("startswith", "endswith"):
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                f"Unsupported query function '{name_token.text}' in the filter clause.",
            )
        self.expect("(")
        getter, property_name = self.path()
        self.expect(",")
        literal = self.literal()
        self.expect(")")
        self.require_advanced(name, property_name)
        if not isinstance(literal, str):
            raise _Syntax(name_token.position)
        needle = literal.casefold()
        if name == "startswith":
            return lambda item, scope: _text_test(getter(item, scope), str.startswith, needle)
        return lambda item, scope: _text_test(getter(item, scope), str.endswith, needle)

    def comparison(self) -> Callable[[dict, dict], bool]:
        getter, property_name = self.path()
        if self.peek() is not None and self.peek().text == "/":
            return self.lambda_expr(getter, property_name)
        operator_token = self.take()
        operator = operator_token.text.lower()
        if operator == "in":
            self.expect("(")
            values = [self.literal()]
            while self.peek() is not None and self.peek().text == ",":
                self.take()
                values.append(self.literal())
            self.expect(")")
            folded = {_fold(v) for v in values}
            return lambda item, scope: _fold(getter(item, scope)) in folded
        if operator not in _COMPARISONS:
            raise _Syntax(operator_token.position)
        self.require_advanced(operator, property_name)
        literal = _fold(self.literal())
        return _compare(getter, operator, literal)

    def lambda_expr(self, getter: Getter, property_name: str) -> Callable[[dict, dict], bool]:
        self.expect("/")
        kind = self.take().text.lower()
        if kind not in ("any", "all"):
            raise _Syntax(self.tokens[self.index - 1].position)
        self.expect("(")
        variable = self.take()
        if variable.kind != "name":
            raise _Syntax(variable.position)
        self.expect(":")
        self.variables.add(variable.text)
        body = self.or_expr()
        self.variables.discard(variable.text)
        self.expect(")")
        name = variable.text
        test = any if kind == "any" else all

        def run(item: dict, scope: dict) -> bool:
            values = getter(item, scope) or ()
            return test(body(item, {**scope, name: value}) for value in values)

        return run

    def path(self) -> tuple[Getter, str]:
        first = self.take()
        if first.kind != "name":
            raise _Syntax(first.position)
        segments = [first.text]
        while (
            self.peek() is not None
            and self.peek().text == "/"
            and self.peek(1) is not None
            and self.peek(1).kind == "name"
            and self.peek(1).text.lower() not in ("any", "all")
        ):
            self.take()
            segments.append(self.take().text)
        if segments[0] in self.variables:
            variable, rest = segments[0], segments[1:]
            return (lambda item, scope: _walk(scope.get(variable), rest)), variable
        canonical = self.properties.canonical(segments[0])
        if canonical is None:
            raise GraphError(
                400,
                "BadRequest",
                f"Could not find a property named '{segments[0]}' on type "
                f"'microsoft.graph.{self.properties.type_name}'.",
            )
        rest = segments[1:]
        return (lambda item, scope: _walk(item.get(canonical), rest)), canonical

    def literal(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return token.text[1:-1].replace("''", "'")
        if token.kind == "datetime":
            try:
                return _normalise_datetime(token.text)
            except ValueError as exc:
                raise _Syntax(token.position) from exc
        if token.kind == "guid":
            return token.text
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        lowered = token.text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        raise _Syntax(token.position)


def _walk(value: Any, segments: list[str]) -> Any:
    for segment in segments:
        if not isinstance(value, dict):
            return None
        value = value.get(segment)
    return value


def _text_test(value: Any, method: Callable[[str, str], bool], needle: str) -> bool:
    return isinstance(value, str) and method(value.casefold(), needle)


def _compare(getter: Getter, operator: str, literal: Any) -> Callable[[dict, dict], bool]:
    if operator == "eq":
        return lambda item, scope: _fold(getter(item, scope)) == literal
    if operator == "ne":
        return lambda item, scope: _fold(getter(item, scope)) != literal

    def ordered(item: dict, scope: dict) -> bool:
        value = _fold(getter(item, scope))
        if value is None or literal is None or type(value) is not type(literal):
            return False
        if operator == "ge":
            return value >= literal
        if operator == "le":
            return value <= literal
        if operator == "gt":
            return value > literal
        return value < literal

    return ordered


def compile_filter(text: str, properties: PropertySet, *, advanced: bool) -> Predicate:
    """Compile a `$filter` or raise Graph's 400 for it."""
    try:
        return _Parser(text, properties, advanced).parse()
    except _Syntax as exc:
        raise GraphError(
            400,
            "BadRequest",
            f"Invalid filter clause: syntax error at position {exc.position} in '{text}'.",
        ) from None

"""Operator spellings and which operators each property type accepts (rule-language.md §4)."""

from __future__ import annotations

from .properties import PropType

COMPARISON = (
    "-eq",
    "-ne",
    "-startsWith",
    "-notStartsWith",
    "-endsWith",
    "-notEndsWith",
    "-contains",
    "-notContains",
    "-match",
    "-notMatch",
    "-in",
    "-notIn",
    "-le",
    "-ge",
)
LOGICAL = ("-and", "-or", "-not")
QUANTIFIERS = ("-any", "-all")
DATE_SHIFT = ("-plus", "-minus")

_CANONICAL = {op[1:].casefold(): op for op in COMPARISON + LOGICAL + QUANTIFIERS + DATE_SHIFT}

STRING_OPERATORS = frozenset(COMPARISON) - {"-le", "-ge"}
ALLOWED: dict[PropType, frozenset[str]] = {
    PropType.STRING: STRING_OPERATORS,
    PropType.BOOLEAN: frozenset({"-eq", "-ne"}),
    PropType.DATETIME: frozenset({"-eq", "-ne", "-le", "-ge"}),
    # rule-language.md §6.3 (project decision): a direct operator on a string collection
    # means -any (_ <op> value).
    PropType.STRING_COLLECTION: STRING_OPERATORS | set(QUANTIFIERS),
    PropType.OBJECT_COLLECTION: frozenset(QUANTIFIERS),
    PropType.MEMBER_OF: frozenset({"-any"}),
}

# Each not-operator is the plain negation of its positive form (rule-language.md §6.2).
NEGATED = {
    "-ne": "-eq",
    "-notStartsWith": "-startsWith",
    "-notEndsWith": "-endsWith",
    "-notContains": "-contains",
    "-notMatch": "-match",
    "-notIn": "-in",
}


def canonical(word: str) -> str | None:
    """The canonical spelling of an operator word written in any case, without its hyphen."""
    return _CANONICAL.get(word.casefold())


def describe(ops: frozenset[str] | tuple[str, ...]) -> str:
    order = COMPARISON + QUANTIFIERS
    return ", ".join(op for op in order if op in ops)

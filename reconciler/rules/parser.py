"""Recursive-descent parser and validator: rule text -> syntax tree, or a precise RuleError.

Precedence (rule-language.md §4.3), loosest first: -or, -and, -not, comparisons. Each level
is one method below, so the call chain is the precedence table. Validation (known property,
operator allowed on its type, value of the right kind) happens while parsing, so every error
points at the token that caused it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import NoReturn

from . import operators as ops
from .errors import ErrorKind, RuleError
from .lexer import Tok, Token, tokenize
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
    Operand,
    Or,
    Span,
)
from .patterns import Pattern, compile_pattern
from .properties import PLAN_FIELDS, Property, PropType, known_names, lookup
from .values import parse_datetime, parse_duration

MAX_NESTING = 40  # parentheses and -not; deeper input ends in a RuleError, not RecursionError
MAX_MEMBER_OF_GROUPS = 50  # rule-language.md §9.3
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ITEM_PREFIXES = {"assignedplan": "assignedPlan", "group": "group"}


class Parser:
    def __init__(self, text: str, object_type: str, regex_timeout: float) -> None:
        self.text = text
        self.object_type = object_type
        self.regex_timeout = regex_timeout
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.item_of: Property | None = None  # the collection whose -any/-all body we are in

    # -- entry -------------------------------------------------------------------------------

    def parse(self) -> Node:
        first = self.peek  # a local: the checker would keep `self.peek` narrowed past _or()
        if first.kind is Tok.EOF:
            self.fail(
                "QueryCompilationError",
                'the rule is empty; write e.g. user.department -eq "Sales"',
                first,
            )
        if self._is_word(self.peek, "direct"):
            return self._direct_reports()
        node = self._or()
        if self.peek.kind is not Tok.EOF:
            self._trailing_garbage()
        self._check_member_of_alone(node)
        return node

    # -- precedence levels -------------------------------------------------------------------

    def _or(self) -> Node:
        return self._chain(self._and, "-or", Or)

    def _and(self) -> Node:
        return self._chain(self._not, "-and", And)

    def _chain(self, operand: Callable[[], Node], word: str, node_type: type[And | Or]) -> Node:
        first = operand()
        children = [first]
        while self._operator(self.peek) == word:
            self.advance()
            if self._operator(self.peek) in ops.LOGICAL[:2]:
                self.fail(
                    "QueryCompilationError",
                    f"{word} is followed by another logical operator; write a "
                    "condition between them",
                    self.peek,
                )
            children.append(operand())
        if len(children) == 1:
            return first
        return node_type(tuple(children), Span(_start(first), _end(children[-1])))

    def _not(self) -> Node:
        if self._operator(self.peek) != "-not":
            return self._primary()
        token = self.advance()
        self._enter(token)
        child = self._not()
        self.depth -= 1
        if isinstance(child, MemberOf):
            self.fail(
                "UnsupportedCombination",
                "a memberOf rule cannot be negated or combined "
                "with other conditions; put it in a group of its own",
                token,
            )
        return Not(child, Span(token.start, _end(child)))

    def _primary(self) -> Node:
        token = self.peek
        if token.kind is Tok.LPAREN:
            self.advance()
            self._enter(token)
            if self.peek.kind is Tok.RPAREN:
                self.fail(
                    "QueryCompilationError",
                    "empty parentheses: put a condition inside ( ) or remove them",
                    self.peek,
                )
            node = self._or()
            self.depth -= 1
            self.expect(Tok.RPAREN, f"')' to close the '(' at offset {token.start}")
            return node
        if token.kind is Tok.WORD and self._operator(token) is None:
            return self._predicate()
        if token.kind is Tok.EOF:
            self.fail(
                "QueryCompilationError",
                "the rule ends where a condition was expected; "
                "complete it or remove the dangling operator",
                token,
            )
        self.fail(
            "QueryCompilationError",
            f"expected a condition such as user.department -eq \"Sales\" or '(', "
            f"found {self._describe(token)}",
            token,
        )

    # -- predicates --------------------------------------------------------------------------

    def _predicate(self) -> Node:
        subject_token = self.advance()
        subject = self._subject(subject_token)
        op_token = self.peek
        op = self._operator(op_token)
        if op is None or op_token.kind not in (Tok.OPERATOR, Tok.WORD):
            self.fail(
                "QueryCompilationError",
                f"expected an operator such as -eq after {subject_token.text}, found "
                f"{self._describe(op_token)}",
                op_token,
            )
        if not op_token.spaced_before:
            self.fail(
                "QueryCompilationError",
                f"put a space between {subject_token.text} and "
                f"{op_token.text if op_token.kind is Tok.WORD else '-' + op_token.text}",
                op_token,
            )
        if op == "-not":
            self.fail(
                "QueryCompilationError",
                "-not is not a comparison operator; negate the "
                "whole condition instead: -not (" + subject_token.text + " -eq ...)",
                op_token,
            )
        if op in ops.LOGICAL or op in ops.DATE_SHIFT:
            self.fail(
                "QueryCompilationError",
                f"expected a comparison operator after {subject_token.text}, found {op}",
                op_token,
            )
        self.advance()
        prop_type = subject.type if isinstance(subject, Property) else PropType.STRING
        allowed = ops.ALLOWED[prop_type] if isinstance(subject, Property) else ops.STRING_OPERATORS
        if op not in allowed:
            self.fail(
                "OperatorNotSupportedOnAttribute",
                f"operator {op} is not supported on {subject.name} ({prop_type.value}); "
                f"valid: {ops.describe(allowed)}",
                op_token,
            )
        if op in ops.QUANTIFIERS:
            return self._collection_test(subject, op, subject_token)
        operand, pattern, operand_text = self._operand(subject, prop_type, op, op_token)
        span = Span(subject_token.start, self.tokens[self.i - 1].end)
        return Comparison(subject, op, operand, pattern, span, operand_text)

    def _subject(self, token: Token) -> Property | ItemRef:
        name = token.text
        head, _, tail = name.partition(".")
        folded = head.casefold()
        if self.item_of is not None:
            return self._item_subject(token, folded, tail)
        if name == "_" or folded in _ITEM_PREFIXES:
            self.fail(
                "QueryCompilationError",
                f"{name} can only be used inside the "
                "parentheses of -any/-all, e.g. user.proxyAddresses -any (_ -startsWith "
                '"smtp:")',
                token,
            )
        if folded == "direct":
            self.fail(
                "UnsupportedCombination",
                "a Direct Reports rule must be the whole rule, "
                "without parentheses or other conditions",
                token,
            )
        if folded == "system":
            self.fail(
                "QueryCompilationError",
                "system.now is a value, not a property; compare "
                "a date property with it, e.g. user.employeeHireDate -ge system.now",
                token,
            )
        if not tail:
            self.fail(
                "QueryCompilationError",
                f"property {name!r} needs its object prefix: write {self.object_type}.{name}",
                token,
            )
        if folded not in ("user", "device"):
            self.fail(
                "AttributeNotSupported",
                f"unknown object {head!r}: properties start with {self.object_type}.",
                token,
            )
        if folded != self.object_type:
            self.fail(
                "InvalidObjectType",
                f"{head}.{tail} is a {folded} property, but this is "
                f"a {self.object_type} rule; a rule cannot mix users and devices",
                token,
            )
        prop = lookup(folded, tail)
        if prop is None:
            self.fail("AttributeNotSupported", _unknown_property(folded, tail), token)
        return prop

    def _item_subject(self, token: Token, head: str, tail: str) -> ItemRef:
        collection = self.item_of
        assert collection is not None
        if collection.type is PropType.STRING_COLLECTION:
            if token.text == "_":
                return ItemRef(None, "_")
            self.fail(
                "QueryCompilationError",
                f"inside {collection.name} -any/-all, refer to "
                'each value as _ (e.g. _ -startsWith "smtp:")',
                token,
            )
        if collection.type is PropType.OBJECT_COLLECTION:
            field = PLAN_FIELDS.get(tail.casefold()) if head == "assignedplan" else None
            if field is not None:
                return ItemRef(field, f"assignedPlan.{field.name}")
            self.fail(
                "QueryCompilationError",
                "inside assignedPlans -any/-all, use "
                "assignedPlan.capabilityStatus, assignedPlan.service or "
                "assignedPlan.servicePlanId",
                token,
            )
        if head == "group" and tail.casefold() == "objectid":
            return ItemRef(None, "group.objectId")
        self.fail(
            "QueryCompilationError",
            "a memberOf rule has the form user.memberOf -any "
            "(group.objectId -in ['<group id>', ...])",
            token,
        )

    def _collection_test(self, subject: Property | ItemRef, op: str, subject_token: Token) -> Node:
        assert isinstance(subject, Property)
        if self.item_of is not None:
            self.fail("QueryCompilationError", "-any/-all cannot be nested", subject_token)
        self.item_of = subject
        open_token = self.peek
        if open_token.kind is Tok.LPAREN:
            self.advance()
            self._enter(open_token)
            body = self._or()
            self.depth -= 1
            close = self.expect(Tok.RPAREN, f"')' to close the {op} body")
            body_text = self.text[open_token.start + 1 : close.start].strip()
        else:
            # rule-language.md §6.4: without parentheses the body is exactly one comparison.
            body = self._predicate()
            body_text = self.text[open_token.start : self.tokens[self.i - 1].end]
        self.item_of = None
        span = Span(subject_token.start, self.tokens[self.i - 1].end)
        if subject.type is PropType.MEMBER_OF:
            return self._member_of(op, body, subject_token, span)
        return CollectionTest(subject, op, body, span, body_text)

    def _member_of(self, op: str, body: Node, token: Token, span: Span) -> MemberOf:
        if not (isinstance(body, Comparison) and body.operator == "-in"):
            self.fail(
                "UnsupportedCombination",
                "a memberOf rule has exactly the form "
                "user.memberOf -any (group.objectId -in ['<group id>', ...])",
                token,
            )
        assert isinstance(body.operand, frozenset)
        if len(body.operand) > MAX_MEMBER_OF_GROUPS:
            raise RuleError(
                "UnsupportedCombination",
                f"a memberOf rule may list at most "
                f"{MAX_MEMBER_OF_GROUPS} groups; this one lists "
                f"{len(body.operand)}",
                0,
                self.text,
            )
        return MemberOf(body.operand, span)

    # -- operands ----------------------------------------------------------------------------

    def _operand(
        self, subject: Property | ItemRef, prop_type: PropType, op: str, op_token: Token
    ) -> tuple[Operand, Pattern | None, str]:
        start_token = self.peek
        if op in ("-in", "-notIn"):
            if prop_type not in (PropType.STRING, PropType.STRING_COLLECTION):
                self.fail(
                    "OperatorNotSupportedOnAttribute",
                    f"{op} works on string properties only",
                    op_token,
                )
            items = self._array(op)
            return frozenset(items), None, self._written(start_token)
        token = self.advance()
        if token.kind is Tok.LBRACKET:
            self.fail(
                "QueryCompilationError",
                f"a [...] list is only valid with -in/-notIn, not with {op}",
                token,
            )
        is_null = token.kind is Tok.NULL or self._is_word(token, "null")
        if is_null and op not in ("-eq", "-ne"):
            self.fail(
                "QueryCompilationError",
                f"null can only be compared with -eq or -ne, not {op}",
                token,
            )
        if prop_type is PropType.BOOLEAN:
            return self._boolean(token, is_null), None, token.text
        if prop_type is PropType.DATETIME:
            return self._date(token, is_null), None, self._written(token)
        if is_null:
            return None, None, "null"
        text = self._string_value(token, op)
        if op in ("-match", "-notMatch"):
            pattern = compile_pattern(text, token.start, self.text, self.regex_timeout)
            return text, pattern, self._written(token)
        # INTERFACES.md: "" in a rule equals null, as an empty attribute value does.
        if text == "" and op in ("-eq", "-ne"):
            return None, None, '""'
        return text.casefold(), None, self._written(token)

    def _string_value(self, token: Token, op: str) -> str:
        if token.kind is Tok.STRING:
            return token.text
        if token.kind is Tok.NUMBER:
            return token.text  # INTERFACES.md: an unquoted number compares as its text
        if token.kind is Tok.WORD and token.text.casefold() in ("true", "false"):
            return token.text
        if token.kind is Tok.WORD and token.text[:1].isdigit():
            return token.text
        hint = f'; write "{token.text}" if it is text' if token.kind is Tok.WORD else ""
        self.fail(
            "QueryCompilationError",
            f"expected a quoted value after {op}, found {self._describe(token)}{hint}",
            token,
        )

    def _boolean(self, token: Token, is_null: bool) -> bool | None:
        if is_null:
            return None
        if token.kind in (Tok.WORD, Tok.STRING) and token.text.casefold() in ("true", "false"):
            return token.text.casefold() == "true"
        self.fail(
            "QueryCompilationError",
            f"a boolean property takes true or false, found {self._describe(token)}",
            token,
        )

    def _date(self, token: Token, is_null: bool) -> DateOperand | None:
        if is_null:
            return None
        if self._is_word(token, "system.now"):
            base = DateOperand(None)
        else:
            moment = parse_datetime(token.text) if token.kind in (Tok.WORD, Tok.STRING) else None
            if moment is None:
                self.fail(
                    "QueryCompilationError",
                    f"expected a date-time such as "
                    f"2020-06-10T18:13:20Z or system.now, found {self._describe(token)}",
                    token,
                )
            base = DateOperand(moment)
        shift = self._operator(self.peek)
        if shift not in ops.DATE_SHIFT:
            return base
        self.advance()
        duration_token = self.advance()
        duration = (
            parse_duration(duration_token.text)
            if duration_token.kind in (Tok.WORD, Tok.STRING)
            else None
        )
        if duration is None:
            self.fail(
                "QueryCompilationError",
                f"expected an ISO-8601 duration such as P1D, "
                f"P30D or PT12H after {shift}, found {self._describe(duration_token)}",
                duration_token,
            )
        return DateOperand(base.moment, 1 if shift == "-plus" else -1, duration)

    def _array(self, op: str) -> list[str]:
        open_token = self.peek
        if open_token.kind is not Tok.LBRACKET:
            self.fail(
                "QueryCompilationError",
                f'{op} needs a list in brackets, e.g. {op} ["Sales", "Marketing"]',
                open_token,
            )
        self.advance()
        items: list[str] = []
        if self.peek.kind is Tok.RBRACKET:
            self.advance()
            return items
        while True:
            token = self.advance()
            if token.kind not in (Tok.STRING, Tok.NUMBER):
                self.fail(
                    "QueryCompilationError",
                    f"expected a quoted list item, found {self._describe(token)}",
                    token,
                )
            items.append(token.text.casefold())
            sep = self.advance()
            if sep.kind is Tok.RBRACKET:
                return items
            if sep.kind is not Tok.COMMA:
                self.fail(
                    "QueryCompilationError",
                    f"expected ',' or ']' in the list, found {self._describe(sep)}",
                    sep,
                )

    # -- special rules -----------------------------------------------------------------------

    def _direct_reports(self) -> Node:
        first = self.advance()
        for word in ("reports", "for"):
            token = self.advance()
            if not self._is_word(token, word):
                self.fail(
                    "QueryCompilationError",
                    'a Direct Reports rule reads exactly: Direct Reports for "<manager object id>"',
                    token,
                )
        id_token = self.advance()
        if id_token.kind is not Tok.STRING or not _GUID.fullmatch(id_token.text.strip()):
            self.fail(
                "QueryCompilationError",
                "Direct Reports needs the manager's object id "
                'in quotes, e.g. Direct Reports for "62e19b97-8b3d-4d4a-a106-4ce66896a863"',
                id_token,
            )
        if self.peek.kind is not Tok.EOF:
            self.fail(
                "UnsupportedCombination",
                "a Direct Reports rule cannot be combined with "
                "anything else; put other conditions in a separate group",
                self.peek,
            )
        return DirectReports(id_token.text.strip().casefold(), Span(first.start, id_token.end))

    def _check_member_of_alone(self, node: Node) -> None:
        if isinstance(node, MemberOf):
            return
        found = _find_member_of(node)
        if found is not None:
            raise RuleError(
                "UnsupportedCombination",
                "a memberOf rule cannot be combined with "
                "other conditions; put it in a group of its own",
                found.span.start,
                self.text,
            )

    def _trailing_garbage(self) -> None:
        token = self.peek
        if token.kind is Tok.RPAREN:
            self.fail("QueryCompilationError", "unbalanced ')': there is no '(' for it", token)
        if token.kind in (Tok.LPAREN, Tok.WORD):
            if self._is_word(token, "direct"):
                self.fail(
                    "UnsupportedCombination",
                    "a Direct Reports rule cannot be combined with anything else",
                    token,
                )
            self.fail(
                "QueryCompilationError",
                "two conditions without -and/-or between them; join them with -and or -or",
                token,
            )
        self.fail(
            "QueryCompilationError",
            f"unexpected {self._describe(token)}; valid logical operators are -and, -or and -not",
            token,
        )

    # -- token plumbing ----------------------------------------------------------------------

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        if token.kind is not Tok.EOF:
            self.i += 1
        return token

    def expect(self, kind: Tok, what: str) -> Token:
        if self.peek.kind is not kind:
            self.fail(
                "QueryCompilationError",
                f"expected {what}, found {self._describe(self.peek)}",
                self.peek,
            )
        return self.advance()

    def _enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            self.fail(
                "QueryCompilationError",
                f"the rule nests parentheses or -not more than "
                f"{MAX_NESTING} levels deep; simplify it",
                token,
            )

    def _operator(self, token: Token) -> str | None:
        """The canonical operator a token spells (with or without hyphen), else None."""
        if token.kind is Tok.OPERATOR:
            op = ops.canonical(token.text)
            if op is None:
                self.fail(
                    "QueryCompilationError",
                    f"unknown operator -{token.text}; valid: "
                    f"{ops.describe(ops.COMPARISON)}, -and, -or, -not, -any, -all",
                    token,
                    hint="spell the operator as one of those listed (-eq, not -eqq or ==); "
                    "see the operator table in rule-language.md §4",
                )
            return op
        if token.kind is Tok.WORD and "." not in token.text:
            return ops.canonical(token.text)
        return None

    @staticmethod
    def _is_word(token: Token, word: str) -> bool:
        return token.kind is Tok.WORD and token.text.casefold() == word

    def _written(self, first: Token) -> str:
        return self.text[first.start : self.tokens[self.i - 1].end]

    @staticmethod
    def _describe(token: Token) -> str:
        if token.kind is Tok.EOF:
            return "the end of the rule"
        if token.kind is Tok.STRING:
            return f'"{token.text}"'
        if token.kind is Tok.OPERATOR:
            return f"-{token.text}"
        return repr(token.text)

    def fail(self, kind: ErrorKind, message: str, token: Token, hint: str = "") -> NoReturn:
        raise RuleError(kind, message, token.start, self.text, hint)


def _unknown_property(object_type: str, name: str) -> str:
    message = f"{object_type}.{name} is not a supported property"
    if re.fullmatch(r"extensionattribute\d+", name, re.IGNORECASE):
        return f"{message}; only extensionAttribute1 to extensionAttribute15 exist"
    if name.casefold() == "manager":
        return (
            f"{message}; to group someone's reports write the whole rule as "
            'Direct Reports for "<manager object id>"'
        )
    names = known_names(object_type)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if not close:
        close = [n for n in names if n.casefold() == name.casefold()]
    if close:
        return f"{message}; did you mean {' or '.join(close)}?"
    return (
        f"{message}; valid: {', '.join(names)}, extensionAttribute1..15, extension_<appId>_<name>"
    )


def _find_member_of(node: Node) -> MemberOf | None:
    if isinstance(node, MemberOf):
        return node
    if isinstance(node, And | Or):
        for child in node.children:
            found = _find_member_of(child)
            if found is not None:
                return found
    if isinstance(node, Not):
        return _find_member_of(node.child)
    return None


def _start(node: Node) -> int:
    return node.span.start


def _end(node: Node) -> int:
    return node.span.end

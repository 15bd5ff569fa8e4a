"""Many rules at once: for one user, evaluate only the rules that can possibly match.

Each rule gets a *guard*: keys (source, mode, value), at least one of which holds for every
user the rule matches (a necessary condition, never a sufficient one).
`department -eq "Sales"` guards with (department, exact, "sales"); `-startsWith` and
`-match "^literal"` with a prefix of the value; `-contains`, `-endsWith` and a -match's
required literal with a substring. An -and takes its most selective child's guard, an -or
unions its children's guards, -not and -all have none. Per user, each source property is read
and case-folded once, the keys it hits give the candidates, and only those (plus rules without
a guard) are evaluated. Guards only prune rules that cannot match, so the answer is exactly
brute force's (a property-based test checks this). A source whose value has the wrong type
makes every rule it guards a candidate, so each of them reports the user as undecided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .checks import MANAGER_ID, OBJECT_ID, check_items, group_ids, read
from .compiler import Getter, compile_getter
from .errors import RuleError
from .nodes import And, CollectionTest, Comparison, DirectReports, ItemRef, MemberOf, Node, Or
from .properties import Property, PropType
from .rule import Rule


@dataclass(frozen=True, slots=True)
class Source:
    """Where comparable values come from: a property, optionally one field of each of its
    items, or a pseudo-property ("memberOf" group ids, "manager" id)."""

    prop: Property | None
    item_field: Property | None = None
    special: str = ""


Key = tuple[Source, str, object]  # (source, "exact" | "prefix" | "contains", value)
_COST = {"exact": 1, "prefix": 2, "contains": 4}
# Properties with a handful of values in any tenant: a guard on them prunes almost nothing.
_FEW_VALUES = frozenset({"userType", "passwordPolicies", "preferredLanguage"})


@dataclass(frozen=True, slots=True)
class Evaluation:
    matched: set[str]
    undecided: dict[str, RuleError] = field(default_factory=dict)


class _SourceIndex:
    """The keys of one source: exact values, prefixes by length, required substrings."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.exact: dict[object, list[str]] = {}
        self.prefixes: dict[int, dict[str, list[str]]] = {}
        self.contains: dict[str, list[str]] = {}
        self.rule_ids: set[str] = set()
        self.getter: Getter | None = compile_getter(source.prop) if source.prop else None

    def add(self, mode: str, value: object, rule_id: str) -> None:
        self.rule_ids.add(rule_id)
        if mode == "exact":
            table = self.exact
        elif mode == "prefix":
            assert isinstance(value, str)
            table = self.prefixes.setdefault(len(value), {})
        else:
            table = self.contains
        table.setdefault(value, []).append(rule_id)

    def values(self, user: dict) -> list:
        """The user's values for this source, normalised as the keys are; raises RuleError
        (kind "AttributeTypeMismatch") when one has the wrong type."""
        source = self.source
        if source.special == "memberOf":
            found, error = group_ids(user, "user")
            if error is not None:
                raise error
            return found
        if source.special == "manager":
            manager_id = read(MANAGER_ID, user, "user")
            return [manager_id.casefold()] if isinstance(manager_id, str) and manager_id else []
        try:
            return self._read(user)
        except (AttributeError, TypeError):
            assert source.prop is not None
            check_items(source.prop, user, "user", source.item_field)  # raises the RuleError
            raise

    def _read(self, user: dict) -> list[object]:
        # Unchecked, as the compiled rules read; a mistyped value raises AttributeError or
        # TypeError, and `values` then names it.
        assert self.getter is not None and self.source.prop is not None
        raw = self.getter(user)
        kind = self.source.prop.type
        if raw is None:
            return [None] if kind is PropType.BOOLEAN else []
        if kind is PropType.BOOLEAN:
            if raw.__class__ is not bool:
                raise TypeError("not a boolean")
            return [raw]
        if kind not in (PropType.STRING_COLLECTION, PropType.OBJECT_COLLECTION):
            return [raw.casefold()]
        if raw.__class__ is not list:
            raise TypeError("not a list")
        items = raw
        if self.source.item_field is not None:
            name = self.source.item_field.path[0]
            items = [i.get(name) for i in items]
        return [i.casefold() for i in items if i is not None]

    def collect(self, user: dict, found: set[str]) -> None:
        try:
            values = self.values(user)
        except RuleError:
            found.update(self.rule_ids)  # never skip a rule on a value it cannot read
            return
        for value in values:
            hits = self.exact.get(value)
            if hits:
                found.update(hits)
            if not isinstance(value, str):
                continue
            for length, table in self.prefixes.items():
                hits = table.get(value[:length])
                if hits:
                    found.update(hits)
            for literal, ids in self.contains.items():
                if literal in value:
                    found.update(ids)


class RuleSet:
    """Rules by id (group id); `matching(user)` equals evaluating every rule one by one."""

    def __init__(self, rules: Mapping[str, Rule]) -> None:
        self.rules = dict(rules)
        self._always: list[str] = []
        indexes: dict[Source, _SourceIndex] = {}
        for rule_id, rule in self.rules.items():
            keys = _guard(rule.tree) if rule.object_type == "user" else None
            if keys is None:
                self._always.append(rule_id)
                continue
            for source, mode, value in set(keys):
                index = indexes.get(source) or indexes.setdefault(source, _SourceIndex(source))
                index.add(mode, value, rule_id)
        self._indexes = list(indexes.values())
        self._uses_now = any(r.uses_now for r in self.rules.values())
        self._predicates = {rule_id: rule.predicate for rule_id, rule in self.rules.items()}

    @property
    def select(self) -> frozenset[str]:
        """The union of every rule's Graph $select names."""
        return frozenset({"id"}).union(*(r.select for r in self.rules.values()))

    @property
    def needs_manager(self) -> bool:
        return any(r.needs_manager for r in self.rules.values())

    @property
    def needs_member_of(self) -> bool:
        return any(r.needs_member_of for r in self.rules.values())

    @property
    def indexed_share(self) -> float:
        return 1 - len(self._always) / len(self.rules) if self.rules else 1.0

    def candidates(self, user: dict) -> set[str]:
        found = set(self._always)
        for index in self._indexes:
            index.collect(user, found)
        return found

    def evaluate(self, user: dict, now: datetime | None = None) -> Evaluation:
        if now is None and self._uses_now:
            now = datetime.now(UTC)
        result = Evaluation(set())
        predicates = self._predicates
        for rule_id in self.candidates(user):
            try:
                if predicates[rule_id](user, now):
                    result.matched.add(rule_id)
            except RuleError as exc:
                result.undecided[rule_id] = exc
        return result

    def matching(self, user: dict, now: datetime | None = None) -> set[str]:
        return self.evaluate(user, now).matched


def _guard(node: Node, collection: Property | None = None) -> list[Key] | None:
    """Keys of which at least one holds whenever `node` is true; None when there are none."""
    if isinstance(node, And):
        options = [g for g in (_guard(c, collection) for c in node.children) if g is not None]
        return min(options, key=_cost) if options else None
    if isinstance(node, Or):
        keys: list[Key] = []
        for child in node.children:
            child_keys = _guard(child, collection)
            if child_keys is None:
                return None
            keys.extend(child_keys)
        return keys
    if isinstance(node, Comparison):
        return _comparison_guard(node, collection)
    if isinstance(node, CollectionTest) and node.quantifier == "-any":
        return _guard(node.body, node.subject)  # -all holds on an empty collection: no guard
    if isinstance(node, MemberOf):
        return [(Source(None, special="memberOf"), "exact", gid) for gid in node.group_ids]
    if isinstance(node, DirectReports):
        return [
            (Source(None, special="manager"), "exact", node.manager_id),
            (Source(OBJECT_ID), "exact", node.manager_id),
        ]
    return None  # -not, -all


def _comparison_guard(node: Comparison, collection: Property | None) -> list[Key] | None:
    subject = node.subject
    if isinstance(subject, ItemRef):
        if collection is None:
            return None
        source = Source(collection, subject.field)
    else:
        source = Source(subject)
    kind = subject.type if isinstance(subject, Property) else PropType.STRING
    operand = node.operand
    if kind is PropType.BOOLEAN:
        # The values a match allows: -eq names one of true/false/null, -ne the other two.
        allowed = {operand} if node.operator == "-eq" else {True, False, None} - {operand}
        return [(source, "exact", value) for value in allowed]
    if kind not in (PropType.STRING, PropType.STRING_COLLECTION) or operand is None:
        return None
    op = node.operator
    if op == "-eq":
        return [(source, "exact", operand)]
    if op == "-in":
        # `-in []` has no key yet must run: on a mistyped value it is undecided, not false.
        if "" in operand or not operand:
            return None
        return [(source, "exact", item) for item in operand]
    if op == "-startsWith" and operand:
        return [(source, "prefix", operand)]
    if op in ("-contains", "-endsWith") and operand:
        return [(source, "contains", operand)]
    if op == "-match" and node.pattern is not None:
        if node.pattern.prefix:
            return [(source, "prefix", node.pattern.prefix)]
        if node.pattern.required:
            return [(source, "contains", node.pattern.required)]
    return None


def _cost(keys: list[Key]) -> int:
    """Lower is more selective: an -and's guard is its cheapest child's."""
    total = 0
    for source, mode, value in keys:
        if isinstance(value, bool) or value is None:
            total += 1000  # true/false/null split users into a few large parts
        elif source.prop is not None and source.prop.name in _FEW_VALUES:
            total += 500
        else:
            total += _COST[mode]
    return total

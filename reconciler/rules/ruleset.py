"""Many rules at once: for one user, evaluate only the rules that can possibly match.

Each rule gets a *guard*: a set of (channel, value) keys, at least one of which holds for every
user the rule matches (a necessary condition, never a sufficient one). `department -eq "Sales"`
guards with (department, "sales"); an -and takes its most selective child's guard; an -or
unions its children's guards; `-startsWith` and `-match "^literal"` guard on a prefix of the
value. A user's values are looked up once per channel, the hits are evaluated in full, and
rules without a guard are always evaluated. Since guards only prune rules that cannot match,
the answer is exactly brute force's (a property-based test checks this).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .compiler import Getter, compile_getter
from .errors import RuleError
from .nodes import And, CollectionTest, Comparison, DirectReports, ItemRef, MemberOf, Node, Or
from .properties import Property, PropType, lookup
from .rule import Rule

_GROUP_TYPE = "#microsoft.graph.group"
_OBJECT_ID = lookup("user", "objectId")


@dataclass(frozen=True, slots=True)
class Channel:
    """How to read comparable values from a user: a property, optionally one field of each of
    its items, normalised by `mode` ("text", a case-folded prefix of `length`, or "bool")."""

    prop: Property | None  # None: the memberOf / manager pseudo-properties below
    item_field: Property | None = None
    mode: str = "text"
    length: int = 0
    special: str = ""  # "memberOf" or "manager"


Key = tuple[Channel, object]
_COST = {"text": 1, "prefix": 2, "bool": 1000}


@dataclass(frozen=True, slots=True)
class Evaluation:
    matched: set[str]
    undecided: dict[str, RuleError] = field(default_factory=dict)


class RuleSet:
    """Rules by id (group id); `matching(user)` equals evaluating every rule one by one."""

    def __init__(self, rules: Mapping[str, Rule]) -> None:
        self.rules = dict(rules)
        self._always: list[str] = []
        self._tables: dict[Channel, dict[object, list[str]]] = {}
        for rule_id, rule in self.rules.items():
            keys = _guard(rule.tree) if rule.object_type == "user" else None
            if keys is None:
                self._always.append(rule_id)
                continue
            for channel, value in set(keys):
                self._tables.setdefault(channel, {}).setdefault(value, []).append(rule_id)
        self._readers: list[tuple[Channel, dict[object, list[str]], Getter | None]] = [
            (ch, table, compile_getter(ch.prop) if ch.prop else None)
            for ch, table in self._tables.items()
        ]
        self._uses_now = any(r.uses_now for r in self.rules.values())

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
        for channel, table, getter in self._readers:
            for value in _values(channel, getter, user):
                hits = table.get(value)
                if hits:
                    found.update(hits)
        return found

    def evaluate(self, user: dict, now: datetime | None = None) -> Evaluation:
        if now is None and self._uses_now:
            now = datetime.now(UTC)
        result = Evaluation(set())
        rules = self.rules
        for rule_id in self.candidates(user):
            try:
                if rules[rule_id].matches(user, now):
                    result.matched.add(rule_id)
            except RuleError as exc:
                result.undecided[rule_id] = exc
        return result

    def matching(self, user: dict, now: datetime | None = None) -> set[str]:
        return self.evaluate(user, now).matched


def _values(channel: Channel, getter: Getter | None, user: dict) -> Iterator[object]:
    if channel.special == "memberOf":
        for entry in user.get("memberOf") or ():
            if entry.get("@odata.type", _GROUP_TYPE) == _GROUP_TYPE and entry.get("id"):
                yield entry["id"].casefold()
        return
    if channel.special == "manager":
        manager_id = (user.get("manager") or {}).get("id")
        if manager_id:
            yield manager_id.casefold()
        return
    assert getter is not None and channel.prop is not None
    raw = getter(user)
    if channel.prop.type in (PropType.STRING_COLLECTION, PropType.OBJECT_COLLECTION):
        items = raw if isinstance(raw, list) else ()
        if channel.item_field is not None:
            items = [i.get(channel.item_field.path[0]) for i in items if isinstance(i, dict)]
        for item in items:
            yield from _normalise(channel, item)
    else:
        yield from _normalise(channel, raw)


def _normalise(channel: Channel, value: object) -> Iterator[object]:
    if channel.mode == "bool":
        yield value if isinstance(value, bool) else None
    elif isinstance(value, str) and value:
        folded = value.casefold()
        if channel.mode == "text":
            yield folded
        elif len(folded) >= channel.length:
            yield folded[: channel.length]


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
        return [(Channel(None, special="memberOf"), gid) for gid in node.group_ids]
    if isinstance(node, DirectReports):
        return [
            (Channel(None, special="manager"), node.manager_id),
            (Channel(_OBJECT_ID), node.manager_id),
        ]
    return None  # -not, -all


def _comparison_guard(node: Comparison, collection: Property | None) -> list[Key] | None:
    subject = node.subject
    if isinstance(subject, ItemRef):
        if collection is None:
            return None
        prop, item_field = collection, subject.field
    else:
        prop, item_field = subject, None
    kind = subject.type if isinstance(subject, Property) else PropType.STRING
    if kind is PropType.BOOLEAN:
        if node.operand is None:
            return [(Channel(prop, mode="bool"), None)]
        if node.operator == "-eq":
            return [(Channel(prop, mode="bool"), node.operand)]
        return [(Channel(prop, mode="bool"), v) for v in (not node.operand, None)]
    if kind not in (PropType.STRING, PropType.STRING_COLLECTION) or node.operand is None:
        return None
    operand = node.operand
    if node.operator == "-eq":
        return [(Channel(prop, item_field), operand)]
    if node.operator == "-in" and "" not in operand:
        return [(Channel(prop, item_field), item) for item in operand]
    prefix = ""
    if node.operator == "-startsWith":
        prefix = operand
    elif node.operator == "-match":
        prefix = literal_prefix(operand).casefold()
    if prefix:
        return [(Channel(prop, item_field, "prefix", len(prefix)), prefix)]
    return None


_LITERAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 @_:,/=-")


def literal_prefix(pattern: str) -> str:
    """The literal text a pattern anchored with ^ must start with ('' when unsure)."""
    if not pattern.startswith("^") or "|" in pattern:
        return ""
    end = 1
    while end < len(pattern) and pattern[end] in _LITERAL:
        end += 1
    prefix = pattern[1:end]
    if end < len(pattern) and pattern[end] in "?*{":
        prefix = prefix[:-1]  # the last character is optional or repeated
    return prefix


def _cost(keys: list[Key]) -> int:
    return sum(_COST[channel.mode] for channel, _ in keys)

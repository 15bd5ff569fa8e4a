"""Reading Graph JSON with the types the rule language declares, for users the fast path failed.

The compiled function reads values unchecked and gives up (AttributeError, TypeError) on any
value of the wrong type; these readers then say which value is wrong, where, and how to fix
it, as RuleError(kind="AttributeTypeMismatch"). An identity tool must not guess what a
mistyped value means, so the rule is undecided for that user, as after a regex timeout.
"""

from __future__ import annotations

import reprlib
from datetime import datetime

from ..json_kinds import json_kind
from .errors import RuleError
from .properties import Property, PropType
from .values import graph_datetime

_GROUP_TYPE = "#microsoft.graph.group"
_PREVIEW_WIDTH = 60
_FIX = "fix the attribute's value in the directory"

# How the rule uses a value of each type, for the message: "... but the rule <use>".
_USE = {
    PropType.STRING: "compares it as a string",
    PropType.BOOLEAN: "compares it as a boolean",
    PropType.DATETIME: "compares it as a date-time",
    PropType.STRING_COLLECTION: "reads it as a list of strings",
    PropType.OBJECT_COLLECTION: "reads it as a list of objects",
}
_CLASSES: dict[PropType, tuple[type, ...]] = {
    PropType.STRING: (str,),
    PropType.BOOLEAN: (bool,),
    PropType.DATETIME: (datetime,),
    PropType.STRING_COLLECTION: (list,),
    PropType.OBJECT_COLLECTION: (list,),
}
# Directory extensions may hold numbers or booleans; rules compare them as text.
_EXTENSION_CLASSES = (str, bool, int, float)

MANAGER_ID = Property("manager", PropType.STRING, ("manager", "id"))
OBJECT_ID = Property("objectId", PropType.STRING, ("id",))


def _previewer() -> reprlib.Repr:
    # Bounded by construction: a huge value is never rendered in full, only summarised.
    shortener = reprlib.Repr()
    shortener.maxlevel, shortener.maxlist, shortener.maxdict = 2, 3, 3
    shortener.maxstring = shortener.maxother = shortener.maxlong = 40
    return shortener


_PREVIEW = _previewer()


def preview(value: object) -> str:
    """A short, one-line rendering of any value, at most 60 characters."""
    text = " ".join(_PREVIEW.repr(value).split())
    return text if len(text) <= _PREVIEW_WIDTH else text[: _PREVIEW_WIDTH - 1] + "…"


def mismatch(subject: str, value: object, use: str) -> RuleError:
    """The error for one mistyped value: what it is, where it is, and what to do."""
    return RuleError(
        "AttributeTypeMismatch",
        f"{subject} is {json_kind(value)} ({preview(value)}) but the rule {use}; {_FIX}",
    )


def _well_typed(prop: Property, value: object) -> bool:
    if value is None:
        return True
    if prop.type is PropType.DATETIME and isinstance(value, str):
        return value == "" or graph_datetime(value) is not None  # "" is null (decision 2)
    if prop.name.startswith("extension_"):
        return isinstance(value, _EXTENSION_CLASSES)
    return isinstance(value, _CLASSES[prop.type])


def locate(prop: Property, obj: object, owner: str) -> tuple[object, RuleError | None]:
    """`prop`'s value in `obj`, or the first mistyped value on the way to it with its error.

    `owner` names `obj` in messages: "user", "device" or "user.assignedPlans[2]".
    """
    value, where, use = _walk(prop, obj)
    if use:
        return value, mismatch(_graph(prop, where, owner) if where else owner, value, use)
    if _well_typed(prop, value):
        return value, None
    return value, mismatch(_subject(prop, owner), value, _USE[prop.type])


def shown_value(prop: Property, obj: object) -> object:
    """`prop`'s value in `obj` as `locate` finds it, without judging its type: explanations
    show it as is, and building the error they would not use costs a third of their time."""
    return _walk(prop, obj)[0]


def _walk(prop: Property, obj: object) -> tuple[object, int, str]:
    """(value, depth, use): the value at the end of `prop`'s path, or the first value on the
    way that is not an object (or not a list, for an index) with its depth and the `use`
    that fails on it; `use` is "" when the path could be followed."""
    value = obj
    for depth, key in enumerate(prop.path):
        if depth and value is None:
            return None, 0, ""
        if not isinstance(value, dict):
            return value, depth, "reads it as an object"
        value = value.get(key)
    if prop.index is not None and value is not None:
        if not isinstance(value, list):
            return value, len(prop.path), "reads it as a list"
        value = value[prop.index] if len(value) > prop.index else None
    return value, 0, ""


def read(prop: Property, obj: object, owner: str) -> object:
    """`prop`'s value in `obj`; raises RuleError(kind="AttributeTypeMismatch") when mistyped.

    A collection's items are not checked here: each is decided on its own (`read_item`).
    """
    value, error = locate(prop, obj, owner)
    if error is not None:
        raise error
    return value


def read_item(item: object, field: Property | None, where: str) -> object:
    """One element of a collection as a body clause reads it: `_` (field None) is a string,
    an assignedPlan an object whose field is a string; null is null."""
    if field is not None:
        return read(field, item, where)
    if item is None or isinstance(item, str):
        return item
    raise mismatch(where, item, _USE[PropType.STRING])


def check_items(prop: Property, obj: object, owner: str, field: Property | None) -> None:
    """Checks a collection property and each of its elements; raises on the first mistyped."""
    items = read(prop, obj, owner) or []
    assert isinstance(items, list)
    for n, item in enumerate(items):
        read_item(item, field, f"{owner}.{prop.name}[{n}]")


def group_ids(obj: dict, owner: str) -> tuple[list[str], RuleError | None]:
    """Case-folded ids of the groups in `obj`'s memberOf (other object types skipped), and the
    error for the first mistyped entry, if any."""
    entries = obj.get("memberOf")
    if entries is None:
        return [], None
    if not isinstance(entries, list):
        return [], mismatch(f"{owner}.memberOf", entries, "reads it as a list of groups")
    found: list[str] = []
    first_error: RuleError | None = None
    for n, entry in enumerate(entries):
        try:
            group_id = _group_id(entry, f"{owner}.memberOf[{n}]")
        except RuleError as error:
            first_error = first_error or error
            continue
        if group_id:
            found.append(group_id.casefold())
    return found, first_error


def _group_id(entry: object, where: str) -> str | None:
    if not isinstance(entry, dict):
        raise mismatch(where, entry, "reads it as a directory object")
    odata_type = entry.get("@odata.type", _GROUP_TYPE)
    if not isinstance(odata_type, str):
        raise mismatch(f"{where}.@odata.type", odata_type, "compares it as a string")
    if odata_type != _GROUP_TYPE:
        return None
    group_id = entry.get("id")
    if group_id is None or isinstance(group_id, str):
        return group_id
    raise mismatch(f"{where}.id", group_id, "compares it as a string")


def member_of(obj: dict, wanted: frozenset[str], owner: str) -> bool:
    """Whether `obj` is in one of the `wanted` groups (case-folded ids). A matching entry
    decides even when another is mistyped; otherwise a mistyped entry leaves it undecided."""
    found, error = group_ids(obj, owner)
    if not wanted.isdisjoint(found):
        return True
    if error is not None:
        raise error
    return False


def reports_to(obj: dict, manager_id: str, owner: str) -> bool:
    """Direct Reports: the manager's id or the object's own id is `manager_id` (case-folded);
    a mistyped one leaves it undecided unless the other one decides.

    rule-language.md §9.1: only direct reports count; the 2026 docs add the manager itself.
    """
    first_error: RuleError | None = None
    for prop in (MANAGER_ID, OBJECT_ID):
        value, error = locate(prop, obj, owner)
        if error is not None:
            first_error = first_error or error
        elif isinstance(value, str) and value.casefold() == manager_id:
            return True
    if first_error is not None:
        raise first_error
    return False


def _subject(prop: Property, owner: str) -> str:
    name = f"{owner}.{prop.name}"
    return name if prop.graph_name == prop.name else f"{name} (Graph {prop.graph_name})"


def _graph(prop: Property, depth: int, owner: str) -> str:
    return f"Graph {'.'.join(prop.path[:depth])} (for {owner}.{prop.name})"

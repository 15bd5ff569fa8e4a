"""Query options (`$select`, `$top`, `$filter`, `$expand`, `$count`, `$skiptoken`), projection
of stored objects into Graph's response shape, and keyset paging with opaque skip tokens."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from graph_emulator import errors, schema
from graph_emulator.calls import Call
from graph_emulator.errors import GraphError
from graph_emulator.filters import Predicate, compile_filter
from graph_emulator.schema import PropertySet

DEFAULT_PAGE = 100
MAX_PAGE = 999
_EXPAND = re.compile(r"^\s*(\w+)\s*(?:\((.*)\))?\s*$")
_TOKEN_PREFIX = b"emu1:"

Projector = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Expand:
    """`$expand=manager($select=...;$levels=...)`: the only expansion the emulator serves."""

    select: tuple[str, ...] | None
    levels: int


@dataclass(frozen=True)
class Query:
    select: tuple[str, ...] | None
    top: int
    after: str | None
    predicate: Predicate | None
    expand: Expand | None
    count: bool


def parse_select(text: str | None, properties: PropertySet) -> tuple[str, ...] | None:
    if text is None or not text.strip():
        return None
    names = []
    for raw in text.split(","):
        name = raw.strip()
        canonical = properties.canonical(name)
        if canonical is None:
            raise errors.unknown_property(name, properties.type_name)
        if canonical not in names:
            names.append(canonical)
    return tuple(names)


def parse_top(call: Call) -> int:
    text = call.option("top")
    if text is None:
        return DEFAULT_PAGE
    try:
        top = int(text)
    except ValueError:
        top = -1
    if not 1 <= top <= MAX_PAGE:
        raise GraphError(
            400,
            "Request_BadRequest",
            f"Invalid page size specified: '{text}'. Must be between 1 and {MAX_PAGE} inclusive.",
        )
    return top


def parse_expand(call: Call, properties: PropertySet) -> Expand | None:
    text = call.option("expand")
    if text is None or not text.strip():
        return None
    match = _EXPAND.match(text)
    if match is None or match.group(1).lower() != "manager":
        raise GraphError(
            400,
            "Request_UnsupportedQuery",
            f"The emulator supports only $expand=manager, not '{text}'.",  # emulator limit
        )
    select: tuple[str, ...] | None = None
    levels = 1
    for option in filter(None, (match.group(2) or "").split(";")):
        key, _, value = option.partition("=")
        key = key.strip().lower().lstrip("$")
        if key == "select":
            select = parse_select(value, properties)
        elif key == "levels":
            levels = 100 if value.strip().lower() == "max" else max(1, int(value))
    return Expand(select, levels)


def parse_query(call: Call, properties: PropertySet) -> Query:
    for unsupported in ("orderby", "search", "skip"):
        if call.option(unsupported) is not None:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                f"The emulator does not support ${unsupported}.",  # emulator limit
            )
    filter_text = call.option("filter")
    predicate = None
    if filter_text:
        predicate = compile_filter(filter_text, properties, advanced=call.advanced)
    return Query(
        select=parse_select(call.option("select"), properties),
        top=parse_top(call),
        after=decode_skiptoken(call.option("skiptoken")),
        predicate=predicate,
        expand=parse_expand(call, properties),
        count=call.advanced,
    )


def projector(
    properties: PropertySet, select: tuple[str, ...] | None, odata_type: str | None = None
) -> Projector:
    """Build the function that shapes one stored object; built once per page, run per item."""
    names = select or properties.defaults
    # (name, value when empty, how): 0 plain, 1 the fifteen extension attributes, 2 never shown
    specs = [
        (
            name,
            properties.empty_value(name),
            {"onPremisesExtensionAttributes": 1, "passwordProfile": 2}.get(name, 0),
        )
        for name in names
    ]

    def project(item: dict[str, Any]) -> dict[str, Any]:
        shaped: dict[str, Any] = {"@odata.type": odata_type} if odata_type else {}
        get = item.get
        for name, empty, how in specs:
            if how == 0:
                value = get(name)
                shaped[name] = empty if value is None else value
            elif how == 1:
                stored = get(name) or {}
                shaped[name] = {key: stored.get(key) for key in schema.EXTENSION_ATTRIBUTES}
            else:
                shaped[name] = None
        return shaped

    return project


def encode_skiptoken(last_id: str) -> str:
    return base64.urlsafe_b64encode(_TOKEN_PREFIX + last_id.encode()).decode().rstrip("=")


def decode_skiptoken(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if not raw.startswith(_TOKEN_PREFIX):
        # Made up: Graph's wording for a damaged skip token is not documented.
        raise GraphError(
            400, "Request_BadRequest", "The specified page token value has expired or is invalid."
        )
    return raw[len(_TOKEN_PREFIX) :].decode()


def next_link(base_url: str, call: Call, last_id: str) -> str:
    """Graph keeps the other options in the link and adds an opaque `$skiptoken`."""
    parts = [
        f"{quote(key, safe='$')}={quote(value, safe=chr(36) + ',()=:/')}"
        for key, value in call.query.items()
        if key.lower().lstrip("$") != "skiptoken"
    ]
    parts.append(f"$skiptoken={encode_skiptoken(last_id)}")
    return f"{base_url}{call.path}?{'&'.join(parts)}"


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    last_id: str | None  # set when more items follow


def take_page(
    ids: Iterable[str],
    lookup: Callable[[str], dict[str, Any] | None],
    top: int,
    predicate: Predicate | None,
) -> Page:
    """Collect up to `top` matching objects, and look one further to know if a page follows."""
    items: list[dict[str, Any]] = []
    last_id = None
    for object_id in ids:
        item = lookup(object_id)
        if item is None or (predicate is not None and not predicate(item)):
            continue
        if len(items) == top:
            return Page(items, last_id)
        items.append(item)
        last_id = object_id
    return Page(items, None)


def context_url(base_url: str, entity_set: str, select: tuple[str, ...] | None) -> str:
    selected = f"({','.join(select)})" if select else ""
    return f"{base_url}/$metadata#{entity_set}{selected}"


def collection(
    call: Call,
    base_url: str,
    entity_set: str,
    query: Query,
    page: Page,
    project: Projector,
    total: Callable[[], int] | None = None,
) -> dict[str, Any]:
    """The `{"@odata.context", "@odata.count"?, "@odata.nextLink"?, "value"}` body."""
    body: dict[str, Any] = {"@odata.context": context_url(base_url, entity_set, query.select)}
    if query.count and query.after is None and total is not None:
        body["@odata.count"] = total()  # only on the first page, as in Graph
    if page.last_id is not None:
        body["@odata.nextLink"] = next_link(base_url, call, page.last_id)
    body["value"] = [project(item) for item in page.items]
    return body


def entity(
    base_url: str, entity_set: str, select: tuple[str, ...] | None, shaped: dict[str, Any]
) -> dict[str, Any]:
    """A single object's body: its context first, as Graph writes it."""
    return {"@odata.context": f"{context_url(base_url, entity_set, select)}/$entity", **shaped}

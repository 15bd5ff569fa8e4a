"""Group membership: list members, add (`$ref` or bind), remove, with Graph's refusals.

Every add or remove that reaches the membership rules is written to the write log, refused or
not, with the member's attributes at that moment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graph_emulator import errors, odata, schema
from graph_emulator.calls import NO_CONTENT, Call, Reply
from graph_emulator.errors import GraphError
from graph_emulator.routes.users import count_reply
from graph_emulator.routing import Router
from graph_emulator.shapes import directory_object_properties, member_projector, user_projector

if TYPE_CHECKING:
    from graph_emulator.emulator import Emulator

BIND = "members@odata.bind"
MAX_BINDS = 20
ADD_ROUTE = "/groups/{id}/members/$ref"
REMOVE_ROUTE = "/groups/{id}/members/{memberId}/$ref"


def register(router: Router) -> None:
    router.add("GET", "/groups/{id}/members")(list_members)
    router.add("GET", "/groups/{id}/members/$count")(count_members)
    router.add("GET", "/groups/{id}/members/microsoft.graph.user")(list_user_members)
    router.add("POST", ADD_ROUTE)(add_member)
    router.add("DELETE", REMOVE_ROUTE)(remove_member)
    router.add("DELETE", "/groups/{id}/members/{memberId}")(delete_member_object)


async def list_members(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    directory = emu.directory
    group_id = directory.group(params["id"])["id"]
    query = odata.parse_query(call, directory_object_properties(directory))
    page = odata.take_page(
        directory.sorted_members(group_id).after(query.after),
        _lookup(emu),
        query.top,
        query.predicate,
    )
    project = member_projector(directory, query.select)
    total = _counter(emu, group_id, query)
    body = odata.collection(call, emu.base_url, "directoryObjects", query, page, project, total)
    return Reply(200, body)


async def list_user_members(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    """The OData cast `/members/microsoft.graph.user`: user members only."""
    directory = emu.directory
    group_id = directory.group(params["id"])["id"]
    query = odata.parse_query(call, directory.user_schema)
    page = odata.take_page(
        directory.sorted_members(group_id).after(query.after),
        directory.users.get,
        query.top,
        query.predicate,
    )
    project = user_projector(directory, query.select, None, schema.ODATA_TYPES["user"])
    body = odata.collection(call, emu.base_url, "users", query, page, project)
    return Reply(200, body)


async def count_members(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    directory = emu.directory
    return count_reply(call, len(directory.members[directory.group(params["id"])["id"]]))


def _lookup(emu: Emulator):
    directory = emu.directory
    users, groups, devices = directory.users, directory.groups, directory.devices
    return lambda object_id: users.get(object_id) or groups.get(object_id) or devices.get(object_id)


def _counter(emu: Emulator, group_id: str, query: odata.Query):
    lookup = _lookup(emu)

    def total() -> int:
        ids = emu.directory.members[group_id]
        if query.predicate is None:
            return len(ids)
        return sum(1 for object_id in ids if query.predicate(lookup(object_id)))

    return total


def _record(
    emu: Emulator, call: Call, action: str, group_id: str, member_ids: list[str], exc, via: str
) -> None:
    for member_id in member_ids:
        emu.record_membership_write(
            call,
            action=action,
            group_id=group_id,
            member_id=member_id,
            status=204 if exc is None else exc.status,
            applied=exc is None,
            via=via,
        )


def _add(emu: Emulator, call: Call, group_id: str, member_ids: list[str], via: str) -> None:
    try:
        emu.directory.add_members(group_id, member_ids)
    except GraphError as exc:
        _record(emu, call, "add", group_id, member_ids, exc, via)
        raise
    _record(emu, call, "add", group_id, member_ids, None, via)


async def add_member(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    group_id = emu.directory.group(params["id"])["id"]
    member_id = emu.reference_id(call.json_object().get("@odata.id"))
    _add(emu, call, group_id, [member_id], ADD_ROUTE)
    return NO_CONTENT


def bind_members(
    emu: Emulator, call: Call, group_id: str, urls: list[Any], properties: dict[str, Any]
) -> None:
    """`PATCH /groups/{id}` with `members@odata.bind`: at most 20, all or nothing."""
    if len(urls) > MAX_BINDS:
        # The limit of 20 is documented; Graph's wording for exceeding it is not (made up).
        raise GraphError(
            400,
            "Request_BadRequest",
            f"The request adds {len(urls)} members; at most {MAX_BINDS} can be added in one "
            "request.",
        )
    member_ids = [emu.reference_id(url) for url in urls]
    emu.directory.check_group_properties(properties)
    _add(emu, call, group_id, member_ids, "/groups/{id}")
    if properties:
        emu.directory.update_group(group_id, properties)


async def remove_member(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    directory = emu.directory
    group_id = directory.group(params["id"])["id"]
    member_id = params["memberId"]
    try:
        directory.remove_member(group_id, member_id)
    except GraphError as exc:
        _record(emu, call, "remove", group_id, [member_id], exc, REMOVE_ROUTE)
        raise
    _record(emu, call, "remove", group_id, [member_id], None, REMOVE_ROUTE)
    return NO_CONTENT


async def delete_member_object(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    """Without `/$ref` Graph deletes the member object itself (graph-facts pitfall 17)."""
    directory = emu.directory
    group_id = directory.group(params["id"])["id"]
    member_id = params["memberId"]
    if member_id not in directory.members[group_id]:
        raise errors.not_found(member_id)
    if directory.kind_of(member_id) != "user":
        raise errors.insufficient_privileges()
    deleted = directory.soft_delete_user(member_id)
    emu.notify_user_change(deleted.user["id"], "updated")
    return NO_CONTENT

"""`/groups`: list, read, create, update (including `members@odata.bind`) and delete groups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graph_emulator import odata, schema
from graph_emulator.calls import NO_CONTENT, Call, Reply
from graph_emulator.errors import GraphError
from graph_emulator.routes.members import BIND, bind_members
from graph_emulator.routing import Router

if TYPE_CHECKING:
    from graph_emulator.emulator import Emulator


def register(router: Router) -> None:
    router.add("GET", "/groups")(list_groups)
    router.add("POST", "/groups")(create_group)
    router.add("GET", "/groups/{id}")(get_group)
    router.add("PATCH", "/groups/{id}")(update_group)
    router.add("DELETE", "/groups/{id}")(delete_group)


async def list_groups(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    directory = emu.directory
    query = odata.parse_query(call, schema.GROUPS)
    page = odata.take_page(
        directory.sorted_groups.after(query.after), directory.groups.get, query.top, query.predicate
    )

    def total() -> int:
        predicate = query.predicate
        groups = directory.groups.values()
        return len(groups) if predicate is None else sum(1 for g in groups if predicate(g))

    project = odata.projector(schema.GROUPS, query.select)
    return Reply(200, odata.collection(call, emu.base_url, "groups", query, page, project, total))


async def get_group(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    group = emu.directory.group(params["id"])
    select = odata.parse_select(call.option("select"), schema.GROUPS)
    shaped = odata.projector(schema.GROUPS, select)(group)
    return Reply(200, odata.entity(emu.base_url, "groups", select, shaped))


def _split_binds(body: dict[str, Any]) -> tuple[dict[str, Any], list[Any] | None]:
    properties = {k: v for k, v in body.items() if k != BIND and not k.startswith("@odata")}
    for key in properties:
        if key.endswith("@odata.bind") and key != "owners@odata.bind":
            raise GraphError(  # made up wording; only members binds are emulated
                400, "Request_BadRequest", f"The emulator does not support '{key}'."
            )
    properties.pop("owners@odata.bind", None)
    binds = body.get(BIND)
    if binds is not None and not isinstance(binds, list):
        raise GraphError(
            400, "Request_BadRequest", f"Invalid value specified for property '{BIND}'."
        )
    return properties, binds


async def create_group(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    properties, binds = _split_binds(call.json_object())
    member_ids = [emu.reference_id(url) for url in binds or ()]
    if len(member_ids) > 20:
        raise GraphError(  # the limit is documented, this wording is made up
            400, "Request_BadRequest", "A request can add at most 20 members."
        )
    group = emu.directory.create_group(properties, member_ids)
    shaped = odata.projector(schema.GROUPS, None)(group)
    return Reply(201, odata.entity(emu.base_url, "groups", None, shaped))


async def update_group(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    """Property changes and up to 20 `members@odata.bind` adds, all or nothing."""
    group_id = emu.directory.group(params["id"])["id"]
    properties, binds = _split_binds(call.json_object())
    if binds is not None:
        bind_members(emu, call, group_id, binds, properties)
    elif properties:
        emu.directory.update_group(group_id, properties)
    return NO_CONTENT


async def delete_group(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    emu.directory.delete_group(params["id"])
    return NO_CONTENT

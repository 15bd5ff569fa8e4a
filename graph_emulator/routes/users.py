"""`/users`: list, read, create, update and soft-delete users; memberOf, manager, reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph_emulator import errors, odata, schema
from graph_emulator.calls import NO_CONTENT, Call, Reply
from graph_emulator.errors import GraphError
from graph_emulator.routing import Router
from graph_emulator.shapes import user_projector

if TYPE_CHECKING:
    from graph_emulator.emulator import Emulator

USER_TYPE = schema.ODATA_TYPES["user"]
GROUP_TYPE = schema.ODATA_TYPES["group"]


def count_reply(call: Call, count: int) -> Reply:
    """`/$count` is an advanced query: without the header Graph answers 400."""
    if call.headers.get("consistencylevel", "").lower() != "eventual":
        raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
    return Reply(200, str(count))


def register(router: Router) -> None:
    router.add("GET", "/users")(list_users)
    router.add("POST", "/users")(create_user)
    router.add("GET", "/users/$count")(count_users)
    router.add("GET", "/users/{id}")(get_user)
    router.add("PATCH", "/users/{id}")(update_user)
    router.add("DELETE", "/users/{id}")(delete_user)
    router.add("GET", "/users/{id}/memberOf")(member_of)
    router.add("GET", "/users/{id}/memberOf/microsoft.graph.group")(member_of)
    router.add("GET", "/users/{id}/manager")(get_manager)
    router.add("PUT", "/users/{id}/manager/$ref")(set_manager)
    router.add("DELETE", "/users/{id}/manager/$ref")(remove_manager)
    router.add("GET", "/users/{id}/directReports")(direct_reports)


async def list_users(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    directory = emu.directory
    query = odata.parse_query(call, directory.user_schema)
    page = odata.take_page(
        directory.sorted_users.after(query.after), directory.users.get, query.top, query.predicate
    )

    def total() -> int:
        predicate = query.predicate
        users = directory.users.values()
        return len(users) if predicate is None else sum(1 for u in users if predicate(u))

    project = user_projector(directory, query.select, query.expand)
    return Reply(200, odata.collection(call, emu.base_url, "users", query, page, project, total))


async def count_users(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    return count_reply(call, len(emu.directory.users))


async def get_user(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    directory = emu.directory
    user = directory.user(params["id"])
    select = odata.parse_select(call.option("select"), directory.user_schema)
    expand = odata.parse_expand(call, directory.user_schema)
    shaped = user_projector(directory, select, expand)(user)
    return Reply(200, odata.entity(emu.base_url, "users", select, shaped))


async def create_user(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    user = emu.directory.create_user(call.json_object())
    emu.notify_user_change(user["id"], "updated")  # creation arrives as `updated` in Graph
    shaped = user_projector(emu.directory, None, None)(user)
    return Reply(201, odata.entity(emu.base_url, "users", None, shaped))


async def update_user(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    user = emu.directory.update_user(params["id"], call.json_object())
    emu.notify_user_change(user["id"], "updated")
    return NO_CONTENT


async def delete_user(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    deleted = emu.directory.soft_delete_user(params["id"])
    emu.notify_user_change(deleted.user["id"], "updated")  # a soft delete is `updated`
    return NO_CONTENT


async def member_of(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    """Direct memberships only (not transitive): here, groups."""
    directory = emu.directory
    user = directory.user(params["id"])
    query = odata.parse_query(call, schema.GROUPS)
    group_ids = sorted(directory.groups_of(user["id"]))
    after = [g for g in group_ids if query.after is None or g > query.after]
    page = odata.take_page(after, directory.groups.get, query.top, query.predicate)
    project = odata.projector(schema.GROUPS, query.select, GROUP_TYPE)
    body = odata.collection(
        call, emu.base_url, "directoryObjects", query, page, project, lambda: len(group_ids)
    )
    return Reply(200, body)


async def get_manager(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    directory = emu.directory
    user = directory.user(params["id"])
    manager_id = directory.manager_of(user["id"])
    if manager_id is None:
        raise errors.not_found("manager")
    select = odata.parse_select(call.option("select"), directory.user_schema)
    shaped = user_projector(directory, select, None, USER_TYPE)(directory.users[manager_id])
    return Reply(200, odata.entity(emu.base_url, "directoryObjects", None, shaped))


async def set_manager(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    manager_id = emu.reference_id(call.json_object().get("@odata.id"))
    user = emu.directory.user(params["id"])
    emu.directory.set_manager(user["id"], manager_id)
    emu.notify_user_change(user["id"], "updated")
    return NO_CONTENT


async def remove_manager(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    user = emu.directory.user(params["id"])
    emu.directory.remove_manager(user["id"])
    emu.notify_user_change(user["id"], "updated")
    return NO_CONTENT


async def direct_reports(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    directory = emu.directory
    user = directory.user(params["id"])
    query = odata.parse_query(call, directory.user_schema)
    report_ids = sorted(directory.reports.get(user["id"], ()))
    after = [r for r in report_ids if query.after is None or r > query.after]
    page = odata.take_page(after, directory.users.get, query.top, query.predicate)
    project = user_projector(directory, query.select, None, USER_TYPE)
    body = odata.collection(
        call, emu.base_url, "directoryObjects", query, page, project, lambda: len(report_ids)
    )
    return Reply(200, body)

"""`/directory/deletedItems`: soft-deleted users, their restore and their hard delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph_emulator import errors, odata, schema
from graph_emulator.calls import NO_CONTENT, Call, Reply
from graph_emulator.routing import Router
from graph_emulator.shapes import user_projector

if TYPE_CHECKING:
    from graph_emulator.emulator import Emulator

USER_TYPE = schema.ODATA_TYPES["user"]


def register(router: Router) -> None:
    router.add("GET", "/directory/deletedItems/microsoft.graph.user")(list_deleted_users)
    router.add("GET", "/directory/deletedItems/{id}")(get_deleted)
    router.add("DELETE", "/directory/deletedItems/{id}")(hard_delete)
    router.add("POST", "/directory/deletedItems/{id}/restore")(restore)


async def list_deleted_users(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    directory = emu.directory
    query = odata.parse_query(call, directory.user_schema)
    deleted = {user_id: d.user for user_id, d in directory.deleted.items()}
    ids = [i for i in sorted(deleted) if query.after is None or i > query.after]
    page = odata.take_page(ids, deleted.get, query.top, query.predicate)
    project = user_projector(
        directory, query.select or ("id", "displayName", "deletedDateTime"), None, USER_TYPE
    )
    body = odata.collection(call, emu.base_url, "directoryObjects", query, page, project)
    return Reply(200, body)


async def get_deleted(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    directory = emu.directory
    deleted = directory.deleted.get(params["id"])
    if deleted is None:
        raise errors.not_found(params["id"])
    select = odata.parse_select(call.option("select"), directory.user_schema)
    shaped = user_projector(directory, select, None, USER_TYPE)(deleted.user)
    shaped.setdefault("deletedDateTime", deleted.user.get("deletedDateTime"))
    return Reply(200, odata.entity(emu.base_url, "directoryObjects", None, shaped))


async def hard_delete(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    """Permanent deletion: the only change that sends `deleted` for users."""
    deleted = emu.directory.hard_delete(params["id"])
    emu.notify_user_change(deleted.user["id"], "deleted")
    return NO_CONTENT


async def restore(emu: Emulator, call: Call, params: dict[str, str]) -> Reply:
    user = emu.directory.restore_user(params["id"])
    emu.notify_user_change(user["id"], "updated")
    shaped = user_projector(emu.directory, None, None, USER_TYPE)(user)
    return Reply(200, odata.entity(emu.base_url, "directoryObjects", None, shaped))

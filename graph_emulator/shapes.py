"""Response shapes that need the directory: users with `$expand=manager`, mixed member lists."""

from __future__ import annotations

from typing import Any

from graph_emulator import odata, schema
from graph_emulator.directory import Directory
from graph_emulator.odata import Expand, Projector
from graph_emulator.schema import PropertySet

USER_TYPE = schema.ODATA_TYPES["user"]


def user_projector(
    directory: Directory,
    select: tuple[str, ...] | None,
    expand: Expand | None,
    odata_type: str | None = None,
) -> Projector:
    base = odata.projector(directory.user_schema, select, odata_type)
    if expand is None:
        return base
    manager_shape = odata.projector(directory.user_schema, expand.select, USER_TYPE)
    managers, users = directory.managers, directory.users

    def project(user: dict[str, Any]) -> dict[str, Any]:
        shaped = base(user)
        target, manager_id = shaped, managers.get(user["id"])
        for _ in range(expand.levels):
            manager = users.get(manager_id) if manager_id else None
            if manager is None:
                break
            target["manager"] = manager_shape(manager)
            target, manager_id = target["manager"], managers.get(manager_id)
        return shaped

    return project


def directory_object_properties(directory: Directory) -> PropertySet:
    """What `$select` may name on a mixed list of users, groups and devices."""
    names = (*schema.USER_PROPERTIES, *directory.extension_properties)
    names += schema.GROUP_PROPERTIES + schema.DEVICE_DEFAULT
    return PropertySet("directoryObject", tuple(dict.fromkeys(names)), ("id",), ())


def member_projector(directory: Directory, select: tuple[str, ...] | None) -> Projector:
    """Each member in its own type's shape, with `@odata.type`, as Graph lists members.

    A selected name that the member's type lacks is left out for that member.
    """
    shapes: dict[str, Projector] = {}
    for kind, properties in (
        ("user", directory.user_schema),
        ("group", schema.GROUPS),
        ("device", schema.DEVICES),
    ):
        own = None if select is None else tuple(n for n in select if properties.canonical(n))
        shapes[kind] = odata.projector(properties, own or None, schema.ODATA_TYPES[kind])
        if select is not None and not own:
            shapes[kind] = _only_type(schema.ODATA_TYPES[kind])
    users, groups = directory.users, directory.groups

    def project(item: dict[str, Any]) -> dict[str, Any]:
        object_id = item["id"]
        if object_id in users:
            return shapes["user"](item)
        if object_id in groups:
            return shapes["group"](item)
        return shapes["device"](item)

    return project


def _only_type(odata_type: str) -> Projector:
    return lambda item: {"@odata.type": odata_type}

"""The tenant's state: users, groups, devices, memberships and managers, with Graph's write rules.

Stored user and group dicts are never edited in place: a write stores a new dict. That lets the
write log keep a reference as "the user at that moment" for free, and lets a reset re-adopt the
loaded document's dicts without copying them.
"""

from __future__ import annotations

import bisect
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graph_emulator import errors, schema
from graph_emulator.change_log import ChangeLog
from graph_emulator.errors import GraphError
from graph_emulator.tenant_document import TenantDocument

ALREADY_MEMBER = (
    "One or more added object references already exist for the following modified properties: "
    "'members'."
)
MAIL_ENABLED_READ_ONLY = "Cannot Update a mail-enabled security groups and or distribution list."
ON_PREMISES_MASTERED = (
    "Unable to update the specified properties for on-premises mastered Directory Sync objects "
    "or objects currently undergoing migration."
)
_EXTENSION_NAME = re.compile(r"^extension_[0-9A-Za-z]{32}_\w+$")


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SortedIds:
    """A sorted list of ids, rebuilt lazily after a change: paging resumes after an id."""

    def __init__(self, source: Iterable[str]) -> None:
        self._source = source
        self._sorted: list[str] | None = None

    def invalidate(self) -> None:
        self._sorted = None

    def ids(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self._source)
        return self._sorted

    def after(self, last_id: str | None) -> Iterator[str]:
        """Ids greater than `last_id`, so a page boundary survives inserts and deletes."""
        ids = self.ids()
        start = 0 if last_id is None else bisect.bisect_right(ids, last_id)
        return (ids[i] for i in range(start, len(ids)))


@dataclass(frozen=True)
class DeletedUser:
    """A soft-deleted user, with what a restore would give back."""

    user: dict[str, Any]
    manager_id: str | None
    group_ids: frozenset[str]


class Directory:
    """Directory objects and their links; every method enforces what Graph enforces."""

    def __init__(self, document: TenantDocument) -> None:
        self.tenant_id = document.tenant_id
        self.domain = document.domain
        self.extension_properties = set(document.extension_properties)
        self.user_schema = schema.user_properties(tuple(self.extension_properties))
        self.users: dict[str, dict[str, Any]] = {u["id"]: u for u in document.users}
        self.groups: dict[str, dict[str, Any]] = {g["id"]: g for g in document.groups}
        self.devices: dict[str, dict[str, Any]] = {d["id"]: d for d in document.devices}
        self.upns = {
            u["userPrincipalName"].lower(): u["id"]
            for u in document.users
            if u.get("userPrincipalName")
        }
        self.managers: dict[str, str] = {}
        self.reports: dict[str, set[str]] = {}
        for user_id, manager_id in document.managers.items():
            if user_id in self.users and manager_id in self.users:
                self._link_manager(user_id, manager_id)
        self._sorted_members: dict[str, SortedIds] = {}
        self.members: dict[str, dict[str, None]] = {group_id: {} for group_id in self.groups}
        self.member_of: dict[str, set[str]] = {}
        for group_id, member_ids in document.members.items():
            if group_id not in self.groups:
                raise errors.GraphError(
                    400, "BadRequest", f"tenant document: members of unknown group {group_id}"
                )
            for member_id in member_ids:
                if self.kind_of(member_id) is not None:
                    self._link_member(group_id, member_id)
        self.deleted: dict[str, DeletedUser] = {
            u["id"]: DeletedUser(u, None, frozenset()) for u in document.deleted_users
        }
        self.sorted_users = SortedIds(self.users)
        self.sorted_groups = SortedIds(self.groups)
        self.changes = ChangeLog()  # what `/users/delta` reads; a new directory starts afresh

    # ----- export -------------------------------------------------------------------------

    def to_document(self) -> TenantDocument:
        return TenantDocument(
            tenant_id=self.tenant_id,
            domain=self.domain,
            users=list(self.users.values()),
            groups=list(self.groups.values()),
            members={group_id: list(ids) for group_id, ids in self.members.items()},
            managers=dict(self.managers),
            devices=list(self.devices.values()),
            deleted_users=[d.user for d in self.deleted.values()],
            extension_properties=tuple(sorted(self.extension_properties)),
        )

    # ----- lookups ------------------------------------------------------------------------

    def kind_of(self, object_id: str) -> str | None:
        if object_id in self.users:
            return "user"
        if object_id in self.groups:
            return "group"
        if object_id in self.devices:
            return "device"
        return None

    def user(self, key: str) -> dict[str, Any]:
        """By id or by userPrincipalName, as `/users/{id | userPrincipalName}` allows."""
        found = self.users.get(key)
        if found is None and "@" in key:
            user_id = self.upns.get(key.lower())
            found = self.users.get(user_id) if user_id else None
        if found is None:
            raise errors.not_found(key)
        return found

    def group(self, group_id: str) -> dict[str, Any]:
        found = self.groups.get(group_id)
        if found is None:
            raise errors.not_found(group_id)
        return found

    def manager_of(self, user_id: str) -> str | None:
        return self.managers.get(user_id)

    def sorted_members(self, group_id: str) -> SortedIds:
        view = self._sorted_members.get(group_id)
        if view is None:
            view = self._sorted_members[group_id] = SortedIds(self.members[group_id])
        return view

    def groups_of(self, object_id: str) -> set[str]:
        return self.member_of.get(object_id, set())

    # ----- users --------------------------------------------------------------------------

    def create_user(self, properties: dict[str, Any]) -> dict[str, Any]:
        for required in ("accountEnabled", "displayName", "mailNickname", "userPrincipalName"):
            if properties.get(required) in (None, ""):
                # Graph's wording for a missing required property is not documented; made up.
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Invalid value specified for property '{required}' of resource 'User'.",
                )
        self._check_user_properties(properties)
        upn = str(properties["userPrincipalName"])
        if upn.lower() in self.upns:
            raise GraphError(
                400,
                "Request_BadRequest",
                "Another object with the same value for property userPrincipalName already exists.",
            )
        user = {key: value for key, value in properties.items() if value is not None}
        user.pop("passwordProfile", None)
        user["id"] = str(uuid.uuid4())
        user["createdDateTime"] = _now_iso()
        user.setdefault("userType", "Member")
        self.users[user["id"]] = user
        self.upns[upn.lower()] = user["id"]
        self.sorted_users.invalidate()
        self.changes.created(user["id"])
        return user

    def update_user(
        self, user_id: str, changes: dict[str, Any], *, as_graph: bool = True
    ) -> dict[str, Any]:
        """Apply a PATCH. `as_graph=False` is the control API: any property, no Graph checks."""
        current = self.user(user_id)
        if not as_graph:
            self.extension_properties.update(k for k in changes if _EXTENSION_NAME.match(k))
            for name in changes:
                self.user_schema.add(name)
        else:
            self._check_user_properties(changes)
        if (
            as_graph
            and "onPremisesExtensionAttributes" in changes
            and current.get("onPremisesSyncEnabled")
        ):
            # Synced users' extension attributes are mastered on-premises (graph-facts §10).
            raise GraphError(400, "Request_BadRequest", ON_PREMISES_MASTERED)
        updated = dict(current)
        for key, value in changes.items():
            if key == "passwordProfile":
                continue
            if key == "onPremisesExtensionAttributes":
                merged = dict(current.get(key) or {})
                merged.update(value or {})  # a PATCH sets only the attributes it names
                value = {k: v for k, v in merged.items() if v is not None}
            if value is None:
                updated.pop(key, None)
            else:
                updated[key] = value
        new_upn = updated.get("userPrincipalName")
        old_upn = current.get("userPrincipalName")
        if new_upn != old_upn:
            owner = self.upns.get(str(new_upn).lower())
            if owner is not None and owner != current["id"]:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    "Another object with the same value for property userPrincipalName already "
                    "exists.",
                )
            self.upns.pop(str(old_upn).lower(), None)
            self.upns[str(new_upn).lower()] = current["id"]
        self.users[current["id"]] = updated
        self.changes.updated(
            current["id"],
            (k for k in updated.keys() | current.keys() if updated.get(k) != current.get(k)),
        )
        return updated

    def _check_user_properties(self, properties: dict[str, Any]) -> None:
        for key, value in properties.items():
            if key.startswith("@odata"):
                continue
            canonical = self.user_schema.canonical(key)
            if canonical is None and _EXTENSION_NAME.match(key):
                canonical = None if key not in self.extension_properties else key
            if canonical is None or canonical != key:
                # Made up: Graph's exact wording for an unknown property is not documented.
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Property '{key}' does not exist as a declared property or extension "
                    "property.",
                )
            if key in schema.USER_READ_ONLY:
                raise GraphError(
                    400, "Request_BadRequest", f"Property '{key}' is read-only and cannot be set."
                )
            if key == "onPremisesExtensionAttributes" and (
                not isinstance(value, dict)
                or any(name not in schema.EXTENSION_ATTRIBUTES for name in value)
            ):
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    "Invalid value specified for property 'onPremisesExtensionAttributes' "
                    "of resource 'User'.",
                )

    def soft_delete_user(self, user_id: str) -> DeletedUser:
        """Moves the user to deleted items; memberships and manager come back on restore."""
        user = self.user(user_id)
        user_id = user["id"]
        group_ids = frozenset(self.member_of.get(user_id, ()))
        for group_id in group_ids:
            self._unlink_member(group_id, user_id)
        manager_id = self.managers.get(user_id)
        if manager_id is not None:
            self._unlink_manager(user_id)
        for report_id in list(self.reports.get(user_id, ())):
            self._unlink_manager(report_id)
            self.changes.manager_changed(report_id, removed=user_id)
        del self.users[user_id]
        self.upns.pop(str(user.get("userPrincipalName", "")).lower(), None)
        self.sorted_users.invalidate()
        deleted = DeletedUser({**user, "deletedDateTime": _now_iso()}, manager_id, group_ids)
        self.deleted[user_id] = deleted
        self.changes.removed(user_id, "changed")  # Graph's reason for a restorable deletion
        return deleted

    def restore_user(self, user_id: str) -> dict[str, Any]:
        deleted = self.deleted.pop(user_id, None)
        if deleted is None:
            raise errors.not_found(user_id)
        user = {k: v for k, v in deleted.user.items() if k != "deletedDateTime"}
        self.users[user_id] = user
        self.upns[str(user.get("userPrincipalName", "")).lower()] = user_id
        self.sorted_users.invalidate()
        if deleted.manager_id in self.users:
            self._link_manager(user_id, deleted.manager_id)
        for group_id in deleted.group_ids:
            if group_id in self.groups:
                self._link_member(group_id, user_id)
        self.changes.restored(user_id)
        if deleted.manager_id is not None and deleted.manager_id not in self.users:
            # The manager went away meanwhile: a delta client that knew it must learn that.
            self.changes.manager_changed(user_id, removed=deleted.manager_id)
        return user

    def hard_delete(self, object_id: str) -> DeletedUser:
        deleted = self.deleted.pop(object_id, None)
        if deleted is None:
            raise errors.not_found(object_id)
        self.changes.removed(object_id, "deleted")
        return deleted

    # ----- managers -----------------------------------------------------------------------

    def set_manager(self, user_id: str, manager_id: str) -> None:
        user_id = self.user(user_id)["id"]
        if manager_id not in self.users:
            raise errors.not_found(manager_id)
        if manager_id == user_id:
            # Made up: Graph refuses a self-reference but its wording is not documented.
            raise GraphError(400, "Request_BadRequest", "A user cannot be their own manager.")
        if self.managers.get(user_id) == manager_id:
            return  # the same manager again: nothing changes
        if user_id in self.managers:
            self._unlink_manager(user_id)
        self._link_manager(user_id, manager_id)
        self.changes.manager_changed(user_id, removed=None)

    def remove_manager(self, user_id: str) -> None:
        user_id = self.user(user_id)["id"]
        if user_id not in self.managers:
            raise errors.not_found("manager")
        self.changes.manager_changed(user_id, removed=self.managers[user_id])
        self._unlink_manager(user_id)

    def _link_manager(self, user_id: str, manager_id: str) -> None:
        self.managers[user_id] = manager_id
        self.reports.setdefault(manager_id, set()).add(user_id)

    def _unlink_manager(self, user_id: str) -> None:
        manager_id = self.managers.pop(user_id)
        reports = self.reports.get(manager_id)
        if reports is not None:
            reports.discard(user_id)
            if not reports:
                del self.reports[manager_id]

    # ----- groups -------------------------------------------------------------------------

    def create_group(self, properties: dict[str, Any], member_ids: list[str]) -> dict[str, Any]:
        for required in ("displayName", "mailEnabled", "mailNickname", "securityEnabled"):
            if properties.get(required) is None:
                # Made up: Graph's wording for a missing required property is not documented.
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Invalid value specified for property '{required}' of resource 'Group'.",
                )
        for key in properties:
            if not key.startswith("@odata") and schema.GROUPS.canonical(key) != key:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Property '{key}' does not exist as a declared property or extension "
                    "property.",
                )
        for member_id in member_ids:
            if self.kind_of(member_id) is None:
                raise errors.not_found(member_id)
        group = {k: v for k, v in properties.items() if v is not None and not k.startswith("@")}
        group["id"] = str(uuid.uuid4())
        group["createdDateTime"] = _now_iso()
        group.setdefault("groupTypes", [])
        self.groups[group["id"]] = group
        self.members[group["id"]] = {}
        self.sorted_groups.invalidate()
        for member_id in member_ids:
            self._link_member(group["id"], member_id)
        return group

    def update_group(self, group_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        current = self.group(group_id)
        self.check_group_properties(changes)
        updated = {**current, **changes}
        self.groups[group_id] = {k: v for k, v in updated.items() if v is not None}
        return self.groups[group_id]

    @staticmethod
    def check_group_properties(changes: dict[str, Any]) -> None:
        for key in changes:
            canonical = schema.GROUPS.canonical(key)
            if canonical != key or key in ("id", "createdDateTime"):
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Property '{key}' does not exist as a declared property or extension "
                    "property.",
                )

    def delete_group(self, group_id: str) -> None:
        self.group(group_id)
        for member_id in list(self.members[group_id]):
            self._unlink_member(group_id, member_id)
        for parent_id in list(self.member_of.get(group_id, ())):
            self._unlink_member(parent_id, group_id)
        del self.groups[group_id]
        del self.members[group_id]
        self._sorted_members.pop(group_id, None)
        self.sorted_groups.invalidate()

    def check_membership_writable(self, group: dict[str, Any]) -> None:
        """Graph refuses membership writes to groups it does not master (graph-facts §6)."""
        if "DynamicMembership" in (group.get("groupTypes") or ()):
            raise errors.insufficient_privileges()
        if group.get("onPremisesSyncEnabled"):
            raise GraphError(400, "Request_BadRequest", ON_PREMISES_MASTERED)
        if group.get("mailEnabled") and "Unified" not in (group.get("groupTypes") or ()):
            raise GraphError(400, "Request_BadRequest", MAIL_ENABLED_READ_ONLY)

    def add_members(self, group_id: str, member_ids: list[str]) -> None:
        """All or nothing, like one Graph request: any bad id means nothing is added."""
        group = self.group(group_id)
        self.check_membership_writable(group)
        seen: set[str] = set()
        for member_id in member_ids:
            if member_id in seen:
                # The facts give only the end of this message; the start is made up.
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"The reference '{member_id}' in 'members' can only be present once as an "
                    "add/remove change.",
                )
            seen.add(member_id)
            if self.kind_of(member_id) is None:
                raise errors.not_found(member_id)
            if member_id == group_id:
                # Made up: a group cannot contain itself; Graph's wording is not documented.
                raise GraphError(400, "Request_BadRequest", "A group cannot be its own member.")
        if any(member_id in self.members[group_id] for member_id in member_ids):
            raise GraphError(400, "Request_BadRequest", ALREADY_MEMBER)
        for member_id in member_ids:
            self._link_member(group_id, member_id)

    def remove_member(self, group_id: str, member_id: str) -> None:
        group = self.group(group_id)
        self.check_membership_writable(group)
        if member_id not in self.members[group_id]:
            # The message names the group, not the member (microsoft-graph-docs #18714).
            raise errors.not_found(group_id)
        self._unlink_member(group_id, member_id)

    def _link_member(self, group_id: str, member_id: str) -> None:
        self.members[group_id][member_id] = None
        self.member_of.setdefault(member_id, set()).add(group_id)
        view = self._sorted_members.get(group_id)
        if view is not None:
            view.invalidate()

    def _unlink_member(self, group_id: str, member_id: str) -> None:
        del self.members[group_id][member_id]
        groups = self.member_of.get(member_id)
        if groups is not None:
            groups.discard(group_id)
            if not groups:
                del self.member_of[member_id]
        view = self._sorted_members.get(group_id)
        if view is not None:
            view.invalidate()

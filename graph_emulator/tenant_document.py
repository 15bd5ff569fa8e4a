"""The tenant as a JSON document: what `--tenant FILE.json` loads and the control API exports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "graph-emulator-tenant"
VERSION = 1


class TenantFileError(ValueError):
    """A tenant document that cannot be loaded; the message says which part is wrong."""


@dataclass(frozen=True)
class TenantDocument:
    """Users and groups as Graph objects, plus the relations Graph keeps apart from them.

    `managers` maps a user id to its manager's id; `members` maps a group id to its direct
    member ids (users, groups or devices). User and group dicts are adopted, not copied, by the
    directory, which never edits them in place.
    """

    tenant_id: str
    domain: str
    users: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    members: dict[str, list[str]]
    managers: dict[str, str] = field(default_factory=dict)
    devices: list[dict[str, Any]] = field(default_factory=list)
    deleted_users: list[dict[str, Any]] = field(default_factory=list)
    extension_properties: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "tenantId": self.tenant_id,
            "domain": self.domain,
            "extensionProperties": list(self.extension_properties),
            "users": self.users,
            "managers": self.managers,
            "groups": self.groups,
            "members": self.members,
            "devices": self.devices,
            "deletedUsers": self.deleted_users,
        }

    @classmethod
    def from_json(cls, data: Any) -> TenantDocument:
        if not isinstance(data, dict):
            raise TenantFileError("a tenant document is a JSON object")
        if data.get("format", FORMAT) != FORMAT or data.get("version", VERSION) != VERSION:
            raise TenantFileError(f"expected format {FORMAT!r} version {VERSION}")
        for key, kind in (("users", list), ("groups", list), ("members", dict)):
            if not isinstance(data.get(key, kind()), kind):
                raise TenantFileError(f"{key!r} must be a JSON {kind.__name__}")
        users = data.get("users", [])
        if any(not isinstance(u, dict) or not isinstance(u.get("id"), str) for u in users):
            raise TenantFileError("every user needs a string 'id'")
        groups = data.get("groups", [])
        if any(not isinstance(g, dict) or not isinstance(g.get("id"), str) for g in groups):
            raise TenantFileError("every group needs a string 'id'")
        extensions = {name for u in users for name in u if name.startswith("extension_")}
        extensions.update(data.get("extensionProperties", []))
        return cls(
            tenant_id=str(data.get("tenantId") or "00000000-0000-0000-0000-000000000000"),
            domain=str(data.get("domain") or "tenant.example"),
            users=users,
            groups=groups,
            members={str(k): list(v) for k, v in data.get("members", {}).items()},
            managers={str(k): str(v) for k, v in data.get("managers", {}).items()},
            devices=list(data.get("devices", [])),
            deleted_users=list(data.get("deletedUsers", [])),
            extension_properties=tuple(sorted(extensions)),
        )

    @classmethod
    def read(cls, path: Path) -> TenantDocument:
        try:
            data = json.loads(path.read_text(encoding="utf-8"), object_hook=_SharingDecoder())
            return cls.from_json(data)
        except (OSError, json.JSONDecodeError) as exc:
            raise TenantFileError(f"{path}: {exc}") from exc


class _SharingDecoder:
    """A json object_hook that makes equal small objects and short strings one object each.

    Generated tenants share licence plans and common values; a 100,000-user file parsed
    naively holds 100,000 copies of each, which would double the emulator's memory. Sharing is
    safe because the directory never edits a stored value in place.
    """

    def __init__(self) -> None:
        self.cache: dict[Any, Any] = {}

    def __call__(self, obj: dict[str, Any]) -> dict[str, Any]:
        cache = self.cache
        for key, value in obj.items():
            if isinstance(value, str) and len(value) <= 48:
                obj[key] = cache.setdefault(value, value)
        if len(obj) <= 6 and all(
            v is None or isinstance(v, str | int | float | bool) for v in obj.values()
        ):
            return cache.setdefault(tuple(obj.items()), obj)
        return obj

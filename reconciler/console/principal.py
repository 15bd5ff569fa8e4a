"""Who is asking: the signed-in principal from App Service Authentication's
`X-MS-CLIENT-PRINCIPAL` header, and what the console's app roles let them do."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass

PRINCIPAL_HEADER = "x-ms-client-principal"
"""Base64 JSON `{"auth_typ", "claims": [{"typ", "val"}], "name_typ", "role_typ"}`, set by
App Service Authentication (Easy Auth), which drops any copy a client sends."""

ROLE_READ = "Reconciler.Read"
ROLE_APPROVE = "Reconciler.Approve"

# Entra's ID tokens carry app roles as `roles` claims; Easy Auth names them in role_typ
# (often the long ClaimTypes.Role URI), so both spellings are read.
_ROLE_CLAIMS = ("roles", "role", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
_NAME_CLAIMS = (
    "preferred_username",
    "name",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "upn",
)
_ID_CLAIMS = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")
MAX_HEADER = 16 * 1024


class PrincipalError(ValueError):
    """The header is there but is not a principal Easy Auth would send."""


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    object_id: str
    roles: frozenset[str]

    @property
    def can_read(self) -> bool:
        return ROLE_READ in self.roles or self.can_approve

    @property
    def can_approve(self) -> bool:
        return ROLE_APPROVE in self.roles

    @property
    def audit_name(self) -> str:
        """How decisions are recorded: the sign-in name and, when known, the object id."""
        return f"{self.name} ({self.object_id})" if self.object_id else self.name


def read_principal(headers: Mapping[str, str]) -> Principal | None:
    """The principal in the headers (names in any case), None when there is none."""
    value = next((v for k, v in headers.items() if k.lower() == PRINCIPAL_HEADER), "")
    if not value.strip():
        return None
    if len(value) > MAX_HEADER:
        raise PrincipalError("X-MS-CLIENT-PRINCIPAL is too long")
    try:
        document = json.loads(base64.b64decode(value.strip(), validate=True))
    except (binascii.Error, ValueError) as error:
        raise PrincipalError(f"X-MS-CLIENT-PRINCIPAL is not base64 JSON: {error}") from error
    claims = document.get("claims") if isinstance(document, dict) else None
    if not isinstance(claims, list):
        raise PrincipalError("X-MS-CLIENT-PRINCIPAL has no claims list")
    pairs = [(str(c.get("typ", "")), str(c.get("val", ""))) for c in claims if isinstance(c, dict)]
    name_typ = str(document.get("name_typ") or "")
    role_typ = str(document.get("role_typ") or "")
    roles = frozenset(v for t, v in pairs if t == role_typ or t in _ROLE_CLAIMS)
    name = _first(pairs, (name_typ, *_NAME_CLAIMS))
    object_id = _first(pairs, _ID_CLAIMS)
    if not name and not object_id:
        raise PrincipalError("X-MS-CLIENT-PRINCIPAL names nobody (no name or object id claim)")
    return Principal(name=name or object_id, object_id=object_id, roles=roles)


def _first(pairs: list[tuple[str, str]], types: tuple[str, ...]) -> str:
    for wanted in types:
        for typ, value in pairs:
            if wanted and typ == wanted and value.strip():
                return value.strip()[:200]
    return ""

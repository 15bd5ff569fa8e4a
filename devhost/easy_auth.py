"""A stand-in for App Service Authentication on loopback: the `X-MS-CLIENT-PRINCIPAL` header
Easy Auth would send for a signed-in principal (`--principal NAME:ROLE,ROLE`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable

HEADER = "X-MS-CLIENT-PRINCIPAL"
NAME_TYP = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
ROLE_TYP = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
OID_TYP = "http://schemas.microsoft.com/identity/claims/objectidentifier"


def principal_header(name: str, roles: Iterable[str], object_id: str = "") -> str:
    """The header's value: base64 of Easy Auth's JSON (auth_typ aad, claims, name_typ, role_typ)."""
    claims = [{"typ": NAME_TYP, "val": name}, *({"typ": ROLE_TYP, "val": r} for r in roles)]
    if object_id:
        claims.append({"typ": OID_TYP, "val": object_id})
    document = {"auth_typ": "aad", "claims": claims, "name_typ": NAME_TYP, "role_typ": ROLE_TYP}
    return base64.b64encode(json.dumps(document).encode()).decode()


def parse_principal(text: str) -> str:
    """`NAME:ROLE,ROLE` (roles may be empty) -> the header value; ValueError when malformed."""
    name, sep, roles = text.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"--principal takes NAME:ROLE[,ROLE...], not {text!r}")
    return principal_header(name.strip(), [r.strip() for r in roles.split(",") if r.strip()])

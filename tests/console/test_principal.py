"""Reading App Service Authentication's principal header, and what its app roles allow."""

from __future__ import annotations

import base64
import json

import pytest

from devhost.easy_auth import parse_principal, principal_header
from reconciler.console.principal import PrincipalError, read_principal


def encoded(document: object) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def test_the_name_roles_and_object_id_come_from_easy_auths_claims() -> None:
    header = principal_header("ana@contoso.com", ["Reconciler.Read"], object_id="oid-1")
    principal = read_principal({"x-ms-client-principal": header})
    assert principal is not None
    assert (principal.name, principal.object_id) == ("ana@contoso.com", "oid-1")
    assert principal.can_read and not principal.can_approve
    assert principal.audit_name == "ana@contoso.com (oid-1)"


def test_roles_claims_named_roles_count_as_well_as_role_typ_and_approve_implies_read() -> None:
    document = {
        "auth_typ": "aad",
        "claims": [
            {"typ": "preferred_username", "val": "ben@contoso.com"},
            {"typ": "roles", "val": "Reconciler.Approve"},
        ],
        "name_typ": "name",
        "role_typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
    }
    principal = read_principal({"X-MS-CLIENT-PRINCIPAL": encoded(document)})
    assert principal is not None and principal.name == "ben@contoso.com"
    assert principal.can_approve and principal.can_read


def test_a_principal_without_console_roles_may_do_nothing() -> None:
    principal = read_principal({"X-MS-CLIENT-PRINCIPAL": principal_header("eve", ["Other"])})
    assert principal is not None and not principal.can_read and not principal.can_approve


def test_no_header_is_nobody() -> None:
    assert read_principal({"Accept": "text/html"}) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not base64!", "not base64 JSON"),
        (encoded({"auth_typ": "aad"}), "no claims list"),
        (encoded({"claims": [{"typ": "roles", "val": "Reconciler.Read"}]}), "names nobody"),
        (base64.b64encode(b"[1, 2]").decode(), "no claims list"),
    ],
)
def test_a_malformed_header_is_refused_with_the_reason(value: str, message: str) -> None:
    with pytest.raises(PrincipalError, match=message):
        read_principal({"X-MS-CLIENT-PRINCIPAL": value})


def test_devhosts_principal_option_reads_name_and_roles_and_refuses_a_bare_name() -> None:
    principal = read_principal(
        {"X-MS-CLIENT-PRINCIPAL": parse_principal("ana@contoso.com:Reconciler.Read, X")}
    )
    assert principal is not None and principal.roles == {"Reconciler.Read", "X"}
    with pytest.raises(ValueError, match="NAME:ROLE"):
        parse_principal("ana@contoso.com")

"""Contract tests for /users against the shapes and errors in graph-facts.md."""

from __future__ import annotations

import httpx

from graph_emulator import EmulatorServer, sample, schema
from tests.conftest import EMULATOR_USERS as USERS
from tests.graph_emulator.graph_api import Api, assert_graph_error

SELECT = "id,department,accountEnabled,userType,onPremisesExtensionAttributes," + (
    sample.EXTENSION_PROPERTY
)


def _some_member(api: Api, **where: str) -> dict:
    users = api.all_pages(f"/users?$select=id,userPrincipalName,{','.join(where) or 'id'}&$top=999")
    return next(u for u in users if all(u.get(k) == v for k, v in where.items()))


def test_list_returns_only_the_default_properties(api: Api) -> None:
    response = api.get("/users")
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"] == f"{api.base_url}/$metadata#users"
    assert len(body["value"]) == 100  # Graph's default page size
    assert set(body["value"][0]) == set(schema.USER_DEFAULT)
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["request-id"]


def test_select_returns_exactly_the_selected_properties_with_nulls(api: Api) -> None:
    users = api.all_pages(f"/users?$select={SELECT}&$top=999")
    assert all(list(u) == SELECT.split(",") for u in users)
    guest = next(u for u in users if u["userType"] == "Guest")
    assert guest["department"] is None  # no value: null, not missing
    assert guest[sample.EXTENSION_PROPERTY] is None
    attributes = guest["onPremisesExtensionAttributes"]
    assert list(attributes) == [f"extensionAttribute{n}" for n in range(1, 16)]


def test_select_is_case_insensitive_and_unknown_names_are_refused(api: Api) -> None:
    body = api.get("/users?$select=ID,Department&$top=1").json()
    assert list(body["value"][0]) == ["id", "department"]
    assert_graph_error(
        api.get("/users?$select=id,favouriteColour"),
        400,
        "BadRequest",
        "Could not find a property named 'favouriteColour' on type 'microsoft.graph.user'.",
    )


def test_paging_visits_every_user_once_through_opaque_skip_tokens(api: Api) -> None:
    first = api.get("/users?$select=id&$top=7").json()
    link = first["@odata.nextLink"]
    assert link.startswith(api.base_url + "/users?")
    assert "$skiptoken=" in link and "$top=7" in link
    token = link.split("$skiptoken=")[1]
    assert first["value"][-1]["id"] not in token  # opaque, not the id itself
    ids = [u["id"] for u in api.all_pages("/users?$select=id&$top=7")]
    assert len(ids) == len(set(ids)) == USERS


def test_paging_survives_a_user_deleted_between_pages(api: Api) -> None:
    first = api.get("/users?$select=id&$top=10").json()
    assert api.delete(f"/users/{first['value'][0]['id']}").status_code == 204
    rest = api.all_pages(first["@odata.nextLink"])
    seen = [u["id"] for u in first["value"]] + [u["id"] for u in rest]
    assert len(seen) == len(set(seen)) == USERS


def test_top_outside_1_to_999_is_graphs_400(api: Api) -> None:
    assert_graph_error(
        api.get("/users?$top=1000"),
        400,
        "Request_BadRequest",
        "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
    )
    assert len(api.get("/users?$top=999&$select=id").json()["value"]) == USERS


def test_filters_the_reconciler_uses(api: Api) -> None:
    everyone = api.all_pages("/users?$select=id,department,accountEnabled,displayName&$top=999")
    sales = {u["id"] for u in everyone if u["department"] == "Sales"}
    got = api.all_pages("/users?$select=id&$filter=department eq 'sales'&$top=999")
    assert {u["id"] for u in got} == sales  # eq ignores case, as in Graph
    enabled = api.all_pages("/users?$select=id&$filter=accountEnabled eq true&$top=999")
    assert len(enabled) == sum(1 for u in everyone if u["accountEnabled"])
    wanted = [u["id"] for u in everyone[:3]]
    quoted = ",".join(f"'{i}'" for i in wanted)
    by_id = api.all_pages(f"/users?$select=id&$filter=id in ({quoted})")
    assert sorted(u["id"] for u in by_id) == sorted(wanted)
    prefix = everyone[0]["displayName"][:3]
    starts = api.all_pages(f"/users?$select=displayName&$filter=startswith(displayName,'{prefix}')")
    assert starts and all(u["displayName"].lower().startswith(prefix.lower()) for u in starts)


def test_filter_on_collections_and_nested_properties(api: Api) -> None:
    plan = sample.EXCHANGE_ONLINE_PLAN_2
    query = f"assignedPlans/any(p:p/servicePlanId eq {plan} and p/capabilityStatus eq 'Enabled')"
    with_plan = api.all_pages(f"/users?$select=id,assignedPlans&$filter={query}")
    assert with_plan
    assert all(any(p["servicePlanId"] == plan for p in u["assignedPlans"]) for u in with_plan)
    smtp = api.all_pages(
        "/users?$select=proxyAddresses&$filter=proxyAddresses/any(x:startswith(x,'SMTP:'))"
    )
    assert smtp and all(any(a.startswith("SMTP:") for a in u["proxyAddresses"]) for u in smtp)
    fte = api.all_pages(
        "/users?$select=onPremisesExtensionAttributes"
        "&$filter=onPremisesExtensionAttributes/extensionAttribute1 eq 'FTE'"
    )
    assert fte
    assert all(u["onPremisesExtensionAttributes"]["extensionAttribute1"] == "FTE" for u in fte)


def test_advanced_filters_need_consistency_level_and_count(api: Api) -> None:
    assert_graph_error(
        api.get("/users?$filter=department ne 'Sales'"),
        400,
        "Request_UnsupportedQuery",
        "Unsupported or invalid query filter clause specified for property 'department' of "
        "resource 'User'.",
    )
    response = api.get(
        "/users?$filter=department ne 'Sales'&$count=true&$select=id,department&$top=999",
        headers={"ConsistencyLevel": "eventual"},
    )
    body = response.json()
    assert body["@odata.count"] == len(body["value"])
    assert all(u["department"] != "Sales" for u in body["value"])


def test_filter_syntax_errors_are_400(api: Api) -> None:
    assert_graph_error(api.get("/users?$filter=department eq"), 400, "BadRequest")


def test_count_needs_the_consistency_header(api: Api) -> None:
    assert_graph_error(
        api.get("/users/$count"), 400, "Request_BadRequest", "$count is not currently supported."
    )
    response = api.get("/users/$count", headers={"ConsistencyLevel": "eventual"})
    assert response.text == str(USERS)


def test_get_one_user_by_id_or_principal_name(api: Api) -> None:
    user = _some_member(api, userType="Member")
    by_id = api.get(f"/users/{user['id']}?$select=id,userType").json()
    assert by_id["@odata.context"].endswith("#users(id,userType)/$entity")
    assert by_id["userType"] == "Member"
    by_upn = api.get(f"/users/{user['userPrincipalName']}?$select=id").json()
    assert by_upn["id"] == user["id"]


def test_unknown_user_is_graphs_404(api: Api) -> None:
    missing = "00000000-0000-0000-0000-000000000099"
    assert_graph_error(
        api.get(f"/users/{missing}"),
        404,
        "Request_ResourceNotFound",
        f"Resource '{missing}' does not exist or one of its queried reference-property objects "
        "are not present.",
    )


def test_expand_manager_on_one_user_and_on_a_list(api: Api) -> None:
    users = api.all_pages("/users?$select=id&$expand=manager($select=id,displayName)&$top=999")
    with_manager = [u for u in users if "manager" in u]
    assert with_manager and len(with_manager) < len(users)
    assert set(with_manager[0]["manager"]) == {"@odata.type", "id", "displayName"}
    ceo = api.get(f"/users/{sample.CEO_ID}?$select=id&$expand=manager").json()
    assert "manager" not in ceo
    report = with_manager[0]["id"]
    chain = api.get(f"/users/{report}?$select=id&$expand=manager($levels=max;$select=id)").json()
    top = chain
    while "manager" in top:
        top = top["manager"]
    assert top["id"] == sample.CEO_ID


def test_manager_reads_and_writes(api: Api, graph: EmulatorServer) -> None:
    assert_graph_error(api.get(f"/users/{sample.CEO_ID}/manager"), 404, "Request_ResourceNotFound")
    user = _some_member(api, userType="Member")
    body = {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{sample.CEO_ID}"}
    assert api.request("PUT", f"/users/{user['id']}/manager/$ref", json=body).status_code == 204
    manager = api.get(f"/users/{user['id']}/manager?$select=id").json()
    assert manager["id"] == sample.CEO_ID
    assert manager["@odata.type"] == "#microsoft.graph.user"
    reports = api.all_pages(f"/users/{sample.CEO_ID}/directReports?$select=id")
    assert user["id"] in {r["id"] for r in reports}
    assert api.delete(f"/users/{user['id']}/manager/$ref").status_code == 204
    assert api.get(f"/users/{user['id']}/manager").status_code == 404


def test_member_of_lists_direct_groups(api: Api) -> None:
    body = api.get(f"/users/{sample.CEO_ID}/memberOf?$select=id,displayName").json()
    assert body["value"]
    assert all(g["@odata.type"] == "#microsoft.graph.group" for g in body["value"])
    for group in body["value"]:
        members = api.all_pages(f"/groups/{group['id']}/members?$select=id")
        assert sample.CEO_ID in {m["id"] for m in members}
    cast = api.get(f"/users/{sample.CEO_ID}/memberOf/microsoft.graph.group?$select=id").json()
    assert [g["id"] for g in cast["value"]] == [g["id"] for g in body["value"]]


def test_create_update_and_soft_delete_a_user(api: Api) -> None:
    new = {
        "accountEnabled": True,
        "displayName": "Test Person",
        "mailNickname": "test.person",
        "userPrincipalName": "test.person@fabrikam.example",
        "passwordProfile": {"password": "x", "forceChangePasswordNextSignIn": True},
        "department": "Sales",
    }
    created = api.post("/users", new)
    assert created.status_code == 201
    user = created.json()
    assert user["@odata.context"].endswith("#users/$entity")
    assert "passwordProfile" not in user and user["displayName"] == "Test Person"
    assert_graph_error(
        api.post("/users", new),
        400,
        "Request_BadRequest",
        "Another object with the same value for property userPrincipalName already exists.",
    )
    assert api.patch(f"/users/{user['id']}", {"department": "Legal"}).status_code == 204
    assert api.get(f"/users/{user['id']}?$select=department").json()["department"] == "Legal"
    assert api.delete(f"/users/{user['id']}").status_code == 204
    assert api.get(f"/users/{user['id']}").status_code == 404
    deleted = api.get(f"/directory/deletedItems/{user['id']}").json()
    assert deleted["id"] == user["id"] and deleted["deletedDateTime"]
    assert api.delete(f"/directory/deletedItems/{user['id']}").status_code == 204
    assert api.get(f"/directory/deletedItems/{user['id']}").status_code == 404


def test_soft_deleted_users_leave_groups_and_restore_brings_them_back(api: Api) -> None:
    member = api.get(f"/groups/{sample.ALL_USERS}/members?$select=id&$top=1").json()["value"][0]
    assert api.delete(f"/users/{member['id']}").status_code == 204
    ids = {m["id"] for m in api.all_pages(f"/groups/{sample.ALL_USERS}/members?$select=id")}
    assert member["id"] not in ids
    assert api.post(f"/directory/deletedItems/{member['id']}/restore").status_code == 200
    ids = {m["id"] for m in api.all_pages(f"/groups/{sample.ALL_USERS}/members?$select=id")}
    assert member["id"] in ids


def test_writes_refuse_unknown_and_read_only_properties(api: Api) -> None:
    user = _some_member(api, userType="Member")
    assert_graph_error(
        api.patch(f"/users/{user['id']}", {"shoeSize": 9}), 400, "Request_BadRequest"
    )
    assert_graph_error(
        api.patch(f"/users/{user['id']}", {"assignedPlans": []}), 400, "Request_BadRequest"
    )
    extension = {sample.EXTENSION_PROPERTY: "E9"}
    assert api.patch(f"/users/{user['id']}", extension).status_code == 204


def test_synced_users_extension_attributes_are_mastered_on_premises(api: Api) -> None:
    users = api.all_pages("/users?$select=id,onPremisesSyncEnabled&$top=999")
    synced = next(u for u in users if u["onPremisesSyncEnabled"])
    cloud = next(u for u in users if not u["onPremisesSyncEnabled"])
    change = {"onPremisesExtensionAttributes": {"extensionAttribute3": "X"}}
    assert_graph_error(
        api.patch(f"/users/{synced['id']}", change),
        400,
        "Request_BadRequest",
        "Unable to update the specified properties for on-premises mastered Directory Sync "
        "objects or objects currently undergoing migration.",
    )
    assert api.patch(f"/users/{cloud['id']}", change).status_code == 204
    after = api.get(f"/users/{cloud['id']}?$select=onPremisesExtensionAttributes").json()
    assert after["onPremisesExtensionAttributes"]["extensionAttribute3"] == "X"


def test_double_slashes_and_header_case_are_tolerated(api: Api, graph: EmulatorServer) -> None:
    client = httpx.Client(trust_env=False)
    response = client.get(
        f"{graph.root_url}/v1.0//users?$top=1", headers={"AUTHORIZATION": "Bearer t"}
    )
    client.close()
    assert response.status_code == 200
    assert len(response.json()["value"]) == 1


def test_missing_or_malformed_token_is_graphs_401(graph: EmulatorServer) -> None:
    client = httpx.Client(trust_env=False)
    missing = client.get(f"{graph.base_url}/users")
    basic = client.get(f"{graph.base_url}/users", headers={"Authorization": "Basic abc"})
    client.close()
    assert_graph_error(missing, 401, "InvalidAuthenticationToken", "Access token is empty.")
    assert_graph_error(basic, 401, "InvalidAuthenticationToken")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_segments_and_versions_are_graphs_400(api: Api, graph: EmulatorServer) -> None:
    assert_graph_error(
        api.get("/applications"),
        400,
        "BadRequest",
        "Resource not found for the segment 'applications'.",
    )
    client = httpx.Client(trust_env=False, headers={"Authorization": "Bearer t"})
    response = client.get(f"{graph.root_url}/v9.9/users")
    client.close()
    assert_graph_error(response, 400, "BadRequest", "Invalid version: v9.9")


def test_client_request_id_is_echoed(api: Api) -> None:
    response = api.get("/users/nope", headers={"client-request-id": "abc-123"})
    assert response.headers["client-request-id"] == "abc-123"
    assert response.json()["error"]["innerError"]["client-request-id"] == "abc-123"

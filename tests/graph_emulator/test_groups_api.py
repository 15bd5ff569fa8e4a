"""Contract tests for /groups and membership writes, with Graph's exact refusals."""

from __future__ import annotations

import pytest

from graph_emulator import EmulatorServer, sample
from tests.graph_emulator.graph_api import Api, assert_graph_error

GRAPH = "https://graph.microsoft.com/v1.0"
ALREADY = (
    "One or more added object references already exist for the following modified properties: "
    "'members'."
)


def _ref(user_id: str, base: str = GRAPH, collection: str = "directoryObjects") -> dict:
    return {"@odata.id": f"{base}/{collection}/{user_id}"}


def _members(api: Api, group_id: str) -> set[str]:
    return {m["id"] for m in api.all_pages(f"/groups/{group_id}/members?$select=id&$top=999")}


def _outsiders(api: Api, group_id: str, count: int) -> list[str]:
    inside = _members(api, group_id)
    users = api.all_pages("/users?$select=id&$top=999")
    return [u["id"] for u in users if u["id"] not in inside][:count]


def test_list_and_read_groups(api: Api) -> None:
    groups = api.all_pages("/groups?$select=id,displayName,groupTypes&$top=5")
    names = {g["id"]: g["displayName"] for g in groups}
    for spec in sample.SAMPLE_GROUPS:
        assert names[spec["id"]] == spec["displayName"]
    one = api.get(f"/groups/{sample.DYNAMIC_LEGACY}").json()
    assert one["@odata.context"].endswith("#groups/$entity")
    assert one["groupTypes"] == ["DynamicMembership"]
    assert one["membershipRule"]
    filtered = api.get("/groups?$filter=displayName eq 'Guests'&$select=id").json()["value"]
    assert [g["id"] for g in filtered] == [sample.GUESTS]


def test_members_are_paged_and_typed(api: Api) -> None:
    first = api.get(f"/groups/{sample.ALL_USERS}/members?$top=10&$select=id").json()
    assert len(first["value"]) == 10 and "@odata.nextLink" in first
    members = api.all_pages(f"/groups/{sample.BUILDING_7}/members?$select=id,displayName")
    types = {m["@odata.type"] for m in members}
    assert types == {"#microsoft.graph.user", "#microsoft.graph.device"}
    device = next(m for m in members if m["@odata.type"] == "#microsoft.graph.device")
    assert device["displayName"].startswith("FAB-")
    users_only = api.all_pages(
        f"/groups/{sample.BUILDING_7}/members/microsoft.graph.user?$select=id"
    )
    assert len(users_only) == len(members) - 1


def test_member_count_needs_the_consistency_header(api: Api) -> None:
    assert api.get(f"/groups/{sample.GUESTS}/members/$count").status_code == 400
    count = api.get(
        f"/groups/{sample.GUESTS}/members/$count", headers={"ConsistencyLevel": "eventual"}
    )
    assert int(count.text) == len(_members(api, sample.GUESTS))


@pytest.mark.parametrize(
    ("collection", "own_base"),
    [("directoryObjects", False), ("users", False), ("directoryObjects", True)],
)
def test_add_a_member_by_reference(api: Api, collection: str, own_base: bool) -> None:
    user_id = _outsiders(api, sample.SALES_ALL, 1)[0]
    body = _ref(user_id, api.base_url if own_base else GRAPH, collection)
    response = api.post(f"/groups/{sample.SALES_ALL}/members/$ref", body)
    assert response.status_code == 204 and response.content == b""
    assert user_id in _members(api, sample.SALES_ALL)


def test_adding_an_existing_member_is_graphs_400(api: Api) -> None:
    member = next(iter(_members(api, sample.GUESTS)))
    assert_graph_error(
        api.post(f"/groups/{sample.GUESTS}/members/$ref", _ref(member)),
        400,
        "Request_BadRequest",
        ALREADY,
    )


def test_adding_a_missing_object_is_404(api: Api) -> None:
    missing = "00000000-0000-4000-8000-00000000abcd"
    assert_graph_error(
        api.post(f"/groups/{sample.GUESTS}/members/$ref", _ref(missing)),
        404,
        "Request_ResourceNotFound",
    )


def test_a_reference_on_another_host_is_refused(api: Api) -> None:
    body = {"@odata.id": "https://example.org/v1.0/directoryObjects/abc"}
    assert_graph_error(
        api.post(f"/groups/{sample.GUESTS}/members/$ref", body), 400, "Request_BadRequest"
    )


def test_remove_a_member_then_removing_again_is_404_naming_the_group(api: Api) -> None:
    member = next(iter(_members(api, sample.GUESTS)))
    path = f"/groups/{sample.GUESTS}/members/{member}/$ref"
    assert api.delete(path).status_code == 204
    assert member not in _members(api, sample.GUESTS)
    assert_graph_error(
        api.delete(path),
        404,
        "Request_ResourceNotFound",
        f"Resource '{sample.GUESTS}' does not exist or one of its queried reference-property "
        "objects are not present.",
    )


def test_bind_adds_up_to_twenty_members(api: Api) -> None:
    users = _outsiders(api, sample.MANAGERS, 20)
    body = {"members@odata.bind": [f"{GRAPH}/directoryObjects/{u}" for u in users]}
    assert api.patch(f"/groups/{sample.MANAGERS}", body).status_code == 204
    assert set(users) <= _members(api, sample.MANAGERS)


def test_bind_of_more_than_twenty_is_refused_and_adds_nothing(api: Api) -> None:
    users = _outsiders(api, sample.MANAGERS, 21)
    body = {"members@odata.bind": [f"{GRAPH}/directoryObjects/{u}" for u in users]}
    assert_graph_error(api.patch(f"/groups/{sample.MANAGERS}", body), 400, "Request_BadRequest")
    assert not set(users) & _members(api, sample.MANAGERS)


def test_bind_fails_whole_when_one_is_already_a_member(api: Api, graph: EmulatorServer) -> None:
    new = _outsiders(api, sample.SALES_ALL, 3)
    existing = next(iter(_members(api, sample.SALES_ALL)))
    body = {"members@odata.bind": [f"{GRAPH}/directoryObjects/{u}" for u in [*new, existing]]}
    assert_graph_error(
        api.patch(f"/groups/{sample.SALES_ALL}", body), 400, "Request_BadRequest", ALREADY
    )
    assert not set(new) & _members(api, sample.SALES_ALL)
    refused = [w for w in graph.writes() if w["groupId"] == sample.SALES_ALL]
    assert len(refused) == 4 and not any(w["applied"] for w in refused)


def test_bind_refuses_the_same_id_twice(api: Api) -> None:
    user = _outsiders(api, sample.SALES_ALL, 1)[0]
    body = {"members@odata.bind": [f"{GRAPH}/directoryObjects/{user}"] * 2}
    error = assert_graph_error(
        api.patch(f"/groups/{sample.SALES_ALL}", body), 400, "Request_BadRequest"
    )
    assert error["message"].endswith("can only be present once as an add/remove change.")


@pytest.mark.parametrize(
    ("group_id", "status", "code", "message"),
    [
        (
            sample.DYNAMIC_LEGACY,
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
        (
            sample.ALL_STAFF_DL,
            400,
            "Request_BadRequest",
            "Cannot Update a mail-enabled security groups and or distribution list.",
        ),
        (
            sample.ON_PREM_SYNCED,
            400,
            "Request_BadRequest",
            "Unable to update the specified properties for on-premises mastered Directory Sync "
            "objects or objects currently undergoing migration.",
        ),
    ],
)
def test_groups_graph_does_not_master_refuse_every_membership_write(
    api: Api, group_id: str, status: int, code: str, message: str
) -> None:
    outsider = _outsiders(api, group_id, 1)[0]
    member = next(iter(_members(api, group_id)))
    before = _members(api, group_id)
    add = api.post(f"/groups/{group_id}/members/$ref", _ref(outsider))
    remove = api.delete(f"/groups/{group_id}/members/{member}/$ref")
    bind = api.patch(f"/groups/{group_id}", {"members@odata.bind": [f"{GRAPH}/users/{outsider}"]})
    for response in (add, remove, bind):
        assert_graph_error(response, status, code, message)
    assert _members(api, group_id) == before


def test_write_log_records_the_users_attributes_at_that_moment(
    api: Api, graph: EmulatorServer
) -> None:
    user = _outsiders(api, sample.SALES_ALL, 1)[0]
    api.patch(f"/users/{user}", {"department": "Sales"})
    api.post(f"/groups/{sample.SALES_ALL}/members/$ref", _ref(user))
    api.patch(f"/users/{user}", {"department": "Legal"})
    api.delete(f"/groups/{sample.SALES_ALL}/members/{user}/$ref")
    add, remove = graph.writes()
    assert (add["action"], add["applied"], add["status"]) == ("add", True, 204)
    assert add["user"]["department"] == "Sales"
    assert remove["action"] == "remove" and remove["user"]["department"] == "Legal"
    assert add["via"] == "/groups/{id}/members/$ref"
    assert add["memberType"] == "user" and "managerId" in add["user"]
    assert graph.writes(since=add["seq"]) == [remove]


def test_delete_without_ref_deletes_the_user_itself(api: Api) -> None:
    member = next(m for m in api.all_pages(f"/groups/{sample.GUESTS}/members?$select=id"))["id"]
    assert api.delete(f"/groups/{sample.GUESTS}/members/{member}").status_code == 204
    assert api.get(f"/users/{member}").status_code == 404


def test_create_update_and_delete_a_group(api: Api) -> None:
    users = _outsiders(api, sample.GUESTS, 2)
    created = api.post(
        "/groups",
        {
            "displayName": "Project X",
            "mailEnabled": False,
            "mailNickname": "projectx",
            "securityEnabled": True,
            "members@odata.bind": [f"{GRAPH}/directoryObjects/{u}" for u in users],
        },
    )
    assert created.status_code == 201
    group = created.json()
    assert group["groupTypes"] == [] and group["displayName"] == "Project X"
    assert _members(api, group["id"]) == set(users)
    assert api.patch(f"/groups/{group['id']}", {"description": "x"}).status_code == 204
    assert api.get(f"/groups/{group['id']}?$select=description").json()["description"] == "x"
    assert api.delete(f"/groups/{group['id']}").status_code == 204
    assert api.get(f"/groups/{group['id']}").status_code == 404

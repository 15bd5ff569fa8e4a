"""Contract tests for `GET /users/delta` over HTTP, and through the real msgraph-sdk client."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.models.user import User
from msgraph.generated.users.delta.delta_request_builder import DeltaRequestBuilder

from graph_emulator import ControlError, EmulatorServer, cli, sample
from tests.conftest import EMULATOR_USERS as USERS
from tests.graph_emulator.graph_api import Api, assert_graph_error

SELECT = "$select=id,department,jobTitle,accountEnabled"
USER_TYPE = "#microsoft.graph.user"
EXPIRED = (
    "The sync state generation is not found. The delta token is expired and data must be "
    "synchronized again."
)
Round = tuple[list[dict[str, Any]], str]


def query_of(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query)


def run_round(api: Api, url: str, **headers: str) -> Round:
    """Follow nextLinks to the end: (every item, the deltaLink)."""
    items: list[dict[str, Any]] = []
    while True:
        response = api.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["value"])
        assert ("@odata.nextLink" in body) != ("@odata.deltaLink" in body)
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]


def delta_link(api: Api, select: str = SELECT) -> str:
    """A deltaLink at the tenant as it is now."""
    response = api.get(f"/users/delta?$deltatoken=latest&{select}")
    assert response.status_code == 200, response.text
    return response.json()["@odata.deltaLink"]


def some_users(api: Api, count: int) -> list[dict[str, Any]]:
    users = api.all_pages("/users?$select=id,department,jobTitle,mobilePhone&$top=999")
    return sorted(users, key=lambda u: u["id"])[:count]


# ----- initial round ----------------------------------------------------------------------------


def test_initial_round_pages_cover_every_user_exactly_once(api: Api) -> None:
    url = f"/users/delta?{SELECT}"
    pages: list[dict[str, Any]] = []
    while url:
        response = api.get(url, headers={"Prefer": "odata.maxpagesize=25"})
        assert response.status_code == 200, response.text
        assert response.headers["Preference-Applied"] == "odata.maxpagesize=25"
        pages.append(response.json())
        url = pages[-1].get("@odata.nextLink")
    assert len(pages) == -(-USERS // 25)
    for page in pages[:-1]:
        assert "@odata.deltaLink" not in page
        assert set(query_of(page["@odata.nextLink"])) == {"$skiptoken"}  # $select rides inside
    assert set(query_of(pages[-1]["@odata.deltaLink"])) == {"$deltatoken"}
    ids = [user["id"] for page in pages for user in page["value"]]
    everyone = {user["id"] for user in api.all_pages("/users?$select=id&$top=999")}
    assert len(ids) == len(set(ids)) == USERS
    assert set(ids) == everyone
    for page in pages:
        assert page["@odata.context"].endswith("#users(id,department,jobTitle,accountEnabled)")
        for user in page["value"]:
            assert set(user) == {"id", "department", "jobTitle", "accountEnabled"}


def test_initial_round_pages_like_the_listings_and_without_select_returns_defaults(
    api: Api,
) -> None:
    first = api.get("/users/delta")
    assert first.status_code == 200
    assert "Preference-Applied" not in first.headers
    body = first.json()
    assert len(body["value"]) == 100  # the listings' default page
    assert "@odata.nextLink" in body
    listed = api.get("/users?$top=1").json()["value"][0]
    assert set(body["value"][0]) == set(listed)  # Graph's default properties


@pytest.mark.parametrize(
    "path", ["//users/delta()", "/Users/Delta", "/users/microsoft.graph.delta", "/users/delta/"]
)
def test_the_paths_the_sdk_and_graph_accept(api: Api, path: str) -> None:
    response = api.get(f"{path}?$deltatoken=latest")
    assert response.status_code == 200, response.text
    assert response.json()["value"] == []


def test_delta_runs_inside_batch_like_a_direct_request(api: Api) -> None:
    link = delta_link(api)
    user = some_users(api, 1)[0]
    assert api.patch(f"/users/{user['id']}", {"jobTitle": "Batched"}).status_code == 204
    token = query_of(link)["$deltatoken"][0]
    requests = [
        {"id": "latest", "method": "GET", "url": "/users/delta?$deltatoken=latest"},
        {
            "id": "changes",
            "method": "GET",
            "url": f"/users/delta?$deltatoken={token}",
            "headers": {"Prefer": "return=minimal"},
        },
    ]
    response = api.post("/$batch", {"requests": requests})
    items = {item["id"]: item for item in response.json()["responses"]}
    assert items["latest"]["status"] == 200 and items["latest"]["body"]["value"] == []
    assert items["changes"]["body"]["value"] == [{"id": user["id"], "jobTitle": "Batched"}]


def test_change_during_the_initial_round_shows_in_the_next_round(api: Api) -> None:
    first = api.get(f"/users/delta?{SELECT}", headers={"Prefer": "odata.maxpagesize=10"}).json()
    seen = first["value"][0]["id"]
    assert api.patch(f"/users/{seen}", {"jobTitle": "Changed mid-round"}).status_code == 204
    items, link = run_round(api, first["@odata.nextLink"])
    assert seen not in {user["id"] for user in items}
    changed, _ = run_round(api, link, Prefer="return=minimal")
    assert changed == [{"id": seen, "jobTitle": "Changed mid-round"}]


# ----- later rounds -----------------------------------------------------------------------------


def test_minimal_later_round_returns_only_the_changed_user_and_properties(api: Api) -> None:
    link = delta_link(api)
    user = some_users(api, 1)[0]
    assert api.patch(f"/users/{user['id']}", {"department": "Delta Dept"}).status_code == 204
    response = api.get(link, headers={"Prefer": "return=minimal"})
    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == "return=minimal"
    body = response.json()
    assert body["value"] == [{"id": user["id"], "department": "Delta Dept"}]
    assert set(query_of(body["@odata.deltaLink"])) == {"$deltatoken"}
    again, _ = run_round(api, body["@odata.deltaLink"])
    assert again == []


def test_default_later_round_returns_selected_properties_that_have_values(api: Api) -> None:
    unset = next(u for u in some_users(api, USERS) if u["mobilePhone"] is None and u["department"])
    link = delta_link(api, "$select=id,department,jobTitle,mobilePhone")
    assert api.patch(f"/users/{unset['id']}", {"jobTitle": None}).status_code == 204
    items, _ = run_round(api, link)
    # jobTitle changed to null: included as null; mobilePhone was never set: left out.
    assert items == [{"id": unset["id"], "department": unset["department"], "jobTitle": None}]


def test_a_change_to_an_unselected_property_does_not_return_the_user(api: Api) -> None:
    link = delta_link(api, "$select=id,department")
    user = some_users(api, 1)[0]
    assert api.patch(f"/users/{user['id']}", {"jobTitle": "Untracked"}).status_code == 204
    assert api.patch(f"/users/{user['id']}", {"department": user["department"]}).status_code == 204
    items, _ = run_round(api, link)
    assert items == []  # jobTitle is not tracked and the department did not change


def test_without_select_every_property_is_tracked(api: Api) -> None:
    link = delta_link(api, "")
    user = some_users(api, 1)[0]
    assert api.patch(f"/users/{user['id']}", {"department": "Delta Dept"}).status_code == 204
    minimal, _ = run_round(api, link, Prefer="return=minimal")
    assert minimal == [{"id": user["id"]}]  # department is tracked but not a default property
    full, _ = run_round(api, link)
    assert full[0]["id"] == user["id"]
    assert "department" not in full[0] and "displayName" in full[0]


def test_deleted_users_come_back_removed_and_restored_or_new_ones_whole(
    api: Api, graph: EmulatorServer
) -> None:
    soft, hard, restored = (u["id"] for u in some_users(api, 3))
    for user_id in (soft, hard, restored):
        assert api.delete(f"/users/{user_id}").status_code == 204
    link = delta_link(api)
    assert api.delete(f"/directory/deletedItems/{hard}").status_code == 204
    assert api.post(f"/directory/deletedItems/{restored}/restore").status_code == 200
    created = api.post(
        "/users",
        {
            "accountEnabled": True,
            "displayName": "Delta Newcomer",
            "mailNickname": "newcomer",
            "userPrincipalName": "newcomer@contoso.example",
            "jobTitle": "Analyst",
        },
    ).json()["id"]
    items, _ = run_round(api, f"/users/delta?{SELECT}")
    assert soft not in {u["id"] for u in items}  # only current users in an initial round
    changes, _ = run_round(api, link, Prefer="return=minimal")
    by_id = {item["id"]: item for item in changes}
    assert by_id[hard] == {"id": hard, "@removed": {"reason": "deleted"}}
    assert by_id[restored]["id"] == restored and "@removed" not in by_id[restored]
    assert by_id[created] == {"id": created, "jobTitle": "Analyst", "accountEnabled": True}
    assert soft not in by_id  # its soft delete came before the link
    graph.reset()
    link = delta_link(api)
    assert api.delete(f"/users/{soft}").status_code == 204
    removed, _ = run_round(api, link)
    assert removed == [{"id": soft, "@removed": {"reason": "changed"}}]


def test_deltatoken_latest_gives_only_a_delta_link(api: Api) -> None:
    response = api.get(f"/users/delta?$deltaToken=latest&{SELECT}")
    assert response.status_code == 200
    body = response.json()
    assert body["value"] == [] and "@odata.nextLink" not in body
    user = some_users(api, 1)[0]
    assert api.patch(f"/users/{user['id']}", {"accountEnabled": False}).status_code == 204
    items, _ = run_round(api, body["@odata.deltaLink"], Prefer="return=minimal")
    assert items == [{"id": user["id"], "accountEnabled": False}]


def test_a_later_round_pages_and_covers_each_change_once(api: Api) -> None:
    link = delta_link(api)
    users = [u["id"] for u in some_users(api, 7)]
    for user_id in users:
        assert api.patch(f"/users/{user_id}", {"department": "Delta Dept"}).status_code == 204
    sizes, seen = [], []
    url = link
    while True:
        response = api.get(url, headers={"Prefer": "odata.maxpagesize=3, return=minimal"})
        assert response.headers["Preference-Applied"] == "return=minimal, odata.maxpagesize=3"
        body = response.json()
        sizes.append(len(body["value"]))
        seen.extend(item["id"] for item in body["value"])
        if "@odata.deltaLink" in body:
            break
        assert set(query_of(body["@odata.nextLink"])) == {"$skiptoken"}
        url = body["@odata.nextLink"]
    assert sizes == [3, 3, 1]
    assert sorted(seen) == sorted(users)  # in change order, each once


def test_a_user_changed_again_during_a_later_round_is_not_lost(api: Api) -> None:
    link = delta_link(api)
    first, second, third, late = (u["id"] for u in some_users(api, 4))
    for user_id in (first, second, third):
        assert api.patch(f"/users/{user_id}", {"department": "Delta Dept"}).status_code == 204
    minimal = {"Prefer": "odata.maxpagesize=2, return=minimal"}
    page = api.get(link, headers=minimal).json()
    assert [item["id"] for item in page["value"]] == [first, second]
    assert api.patch(f"/users/{first}", {"jobTitle": "Again"}).status_code == 204
    assert api.patch(f"/users/{late}", {"jobTitle": "Late"}).status_code == 204
    rest, next_link = run_round(api, page["@odata.nextLink"], **minimal)
    assert rest == [
        {"id": third, "department": "Delta Dept"},
        {"id": first, "department": "Delta Dept", "jobTitle": "Again"},
        {"id": late, "jobTitle": "Late"},
    ]
    assert run_round(api, next_link)[0] == []


def test_select_manager_tracks_the_manager_as_manager_delta(api: Api) -> None:
    listed = api.all_pages("/users?$select=id&$expand=manager($select=id)&$top=999")
    user = min((u for u in listed if u.get("manager")), key=lambda u: u["id"])
    old = user["manager"]["id"]
    new = next(u["id"] for u in listed if u["id"] not in (old, user["id"]))
    items, link = run_round(api, "/users/delta?$select=id,Manager")
    by_id = {item["id"]: item for item in items}
    assert by_id[user["id"]] == {
        "id": user["id"],
        "manager@delta": [{"@odata.type": USER_TYPE, "id": old}],
    }
    assert by_id[sample.CEO_ID] == {"id": sample.CEO_ID}  # no manager: no manager@delta
    untracked = [delta_link(api, "$select=id,department"), delta_link(api, "")]
    bind = {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{new}"}
    assert api.request("PUT", f"/users/{user['id']}/manager/$ref", json=bind).status_code == 204
    changed, link = run_round(api, link, Prefer="return=minimal")
    assert changed == [{"id": user["id"], "manager@delta": [{"@odata.type": USER_TYPE, "id": new}]}]
    for other in untracked:  # the manager is a relationship: tracked only when selected
        assert run_round(api, other)[0] == []
    assert api.delete(f"/users/{user['id']}/manager/$ref").status_code == 204
    removed, _ = run_round(api, link)
    gone = {"@odata.type": USER_TYPE, "id": new, "@removed": {"reason": "deleted"}}
    assert removed == [{"id": user["id"], "manager@delta": [gone]}]


def test_deleting_a_manager_takes_it_away_from_the_reports(api: Api) -> None:
    listed = api.all_pages("/users?$select=id&$expand=manager($select=id)&$top=999")
    managers = {u["manager"]["id"] for u in listed if u.get("manager")} - {sample.CEO_ID}
    manager = min(managers)
    reports = {u["id"] for u in listed if u.get("manager", {}).get("id") == manager}
    link = delta_link(api, "$select=id,manager")
    assert api.delete(f"/users/{manager}").status_code == 204
    items, _ = run_round(api, link, Prefer="return=minimal")
    gone = {"@odata.type": USER_TYPE, "id": manager, "@removed": {"reason": "deleted"}}
    assert {item["id"]: item for item in items} == {
        manager: {"id": manager, "@removed": {"reason": "changed"}},
        **{report: {"id": report, "manager@delta": [gone]} for report in reports},
    }


def test_filter_by_ids_limits_every_round_to_those_users(api: Api, graph: EmulatorServer) -> None:
    first, second, third, outsider = (u["id"] for u in some_users(api, 4))
    clauses = " or ".join(f"id eq '{i}'" for i in (third, first, second, "no-such-user"))
    url = f"/users/delta?$select=id,jobTitle&$filter={clauses}"
    items, link = run_round(api, url, Prefer="odata.maxpagesize=2")
    assert [item["id"] for item in items] == sorted([first, second, third])
    for user_id in (second, outsider):
        assert api.patch(f"/users/{user_id}", {"jobTitle": "Filtered"}).status_code == 204
    changed, _ = run_round(api, link, Prefer="return=minimal")
    assert changed == [{"id": second, "jobTitle": "Filtered"}]
    graph.expire_delta_tokens()
    restart = api.get(link).headers["Location"]
    assert query_of(restart)["$filter"] == [
        " or ".join(f"id eq '{i}'" for i in sorted([first, second, third, "no-such-user"]))
    ]


def test_filters_other_than_ids_or_over_50_ids_are_refused(api: Api) -> None:
    other = api.get("/users/delta?$filter=department eq 'Sales'")
    error = assert_graph_error(other, 400, "Request_UnsupportedQuery")
    assert "only id eq" in error["message"]
    many = " or ".join(f"id eq 'user-{n}'" for n in range(51))
    error = assert_graph_error(
        api.get(f"/users/delta?$filter={many}"), 400, "Request_UnsupportedQuery"
    )
    assert "51 ids; the limit is 50" in error["message"]


# ----- expiry and bad tokens --------------------------------------------------------------------


def test_expired_token_answers_410_sync_state_not_found(api: Api, graph: EmulatorServer) -> None:
    link = delta_link(api)
    page = api.get(f"/users/delta?{SELECT}", headers={"Prefer": "odata.maxpagesize=10"}).json()
    state = graph.expire_delta_tokens()
    assert state["expiredThroughToken"] == state["tokensIssued"]
    for expired in (link, page["@odata.nextLink"]):
        response = api.get(expired)
        assert_graph_error(response, 410, "syncStateNotFound", EXPIRED)
        restart = response.headers["Location"]
        assert query_of(restart) == {"$select": ["id,department,jobTitle,accountEnabled"]}
        assert "$deltatoken=&" in restart  # Graph's reset link: an empty $deltatoken
    items, fresh = run_round(api, restart)
    assert len(items) == USERS
    assert run_round(api, fresh)[0] == []  # tokens issued after the expiry still work


def test_expire_only_tokens_issued_before_a_point(api: Api, graph: EmulatorServer) -> None:
    old = delta_link(api)
    graph.advance_clock(100)
    newer = delta_link(api)
    graph.expire_delta_tokens(older_than_seconds=50)
    assert_graph_error(api.get(old), 410, "syncStateNotFound")
    assert api.get(newer).status_code == 200
    now = graph.advance_clock(10)
    graph.expire_delta_tokens(issued_before=now)
    assert_graph_error(api.get(newer), 410, "syncStateNotFound")
    with pytest.raises(ControlError) as bad:
        graph.expire_delta_tokens(issued_before="yesterday")
    assert bad.value.status == 400 and "issuedBefore" in str(bad.value.body)


def test_tokens_expire_after_the_configured_lifetime(api: Api, graph: EmulatorServer) -> None:
    assert graph.settings()["deltaTokenLifetimeSeconds"] == 7 * 24 * 3600  # Graph's seven days
    link = delta_link(api)
    graph.advance_clock(6 * 24 * 3600)
    assert api.get(link).status_code == 200
    graph.advance_clock(2 * 24 * 3600)
    assert_graph_error(api.get(link), 410, "syncStateNotFound")
    graph.update_settings(deltaTokenLifetimeSeconds=60, deltaExpiredStatus=400)
    short = delta_link(api)
    graph.advance_clock(61)
    response = api.get(short)
    assert_graph_error(response, 400, "syncStateNotFound", EXPIRED)  # the 2020 blog's status
    assert "Location" not in response.headers
    with pytest.raises(ControlError):
        graph.update_settings(deltaExpiredStatus=404)


def test_a_reset_loses_the_sync_state(api: Api, graph: EmulatorServer) -> None:
    link = delta_link(api)
    graph.reset()
    assert_graph_error(api.get(link), 410, "syncStateNotFound")


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("$deltatoken=not-a-token", "was not issued by /users/delta"),
        ("$deltatoken=emud1.%%%", "damaged"),
        ("$skiptoken=ZW11MTphYmM", "was not issued by /users/delta"),  # a /users skip token
    ],
)
def test_bad_tokens_answer_400_with_a_clear_error(api: Api, query: str, words: str) -> None:
    error = assert_graph_error(api.get(f"/users/delta?{query}"), 400, "BadRequest")
    assert words in error["message"] and "start a new round" in error["message"]


def test_tokens_in_the_wrong_place_or_a_changed_select_are_refused(api: Api) -> None:
    token = query_of(delta_link(api))["$deltatoken"][0]
    swapped = assert_graph_error(api.get(f"/users/delta?$skiptoken={token}"), 400, "BadRequest")
    assert "belongs in $deltatoken" in swapped["message"]
    both = api.get(f"/users/delta?$skiptoken={token}&$deltatoken={token}")
    assert "not both" in assert_graph_error(both, 400, "BadRequest")["message"]
    reselected = api.get(f"/users/delta?$deltatoken={token}&$select=id,displayName")
    message = assert_graph_error(reselected, 400, "BadRequest")["message"]
    assert "cannot change within a round" in message
    refiltered = api.get(f"/users/delta?$deltatoken={token}&$filter=id eq '{sample.CEO_ID}'")
    assert_graph_error(refiltered, 400, "BadRequest")
    same = api.get(f"/users/delta?$deltatoken={token}&{SELECT}")
    assert same.status_code == 200


def test_unsupported_options_and_bad_preferences_are_refused(api: Api) -> None:
    assert_graph_error(api.get("/users/delta?$top=5"), 400, "Request_UnsupportedQuery")
    assert_graph_error(api.get("/users/delta?$expand=manager"), 400, "Request_UnsupportedQuery")
    assert_graph_error(api.get("/users/delta?$select=nope"), 400, "BadRequest")
    bad_size = api.get("/users/delta", headers={"Prefer": "odata.maxpagesize=many"})
    assert "maxpagesize" in assert_graph_error(bad_size, 400, "BadRequest")["message"]


def test_control_api_reports_the_change_sequence(api: Api, graph: EmulatorServer) -> None:
    assert graph.delta_state()["sequence"] == 0
    user = some_users(api, 1)[0]
    for title in ("A", "B", "C"):
        assert api.patch(f"/users/{user['id']}", {"jobTitle": title}).status_code == 204
    state = graph.delta_state()
    assert (state["sequence"], state["trackedUsers"]) == (3, 1)
    with pytest.raises(ControlError) as bad:
        graph.expire_delta_tokens(issued_before="2025-01-01T00:00:00Z", older_than_seconds=1)
    assert bad.value.status == 400


def test_cli_sets_the_lifetime_and_status_and_documents_delta(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--delta-token-lifetime", "never", "--delta-expired-status", "400"]
    settings = cli.settings_from(cli.parser().parse_args(args))
    assert (settings.delta_token_lifetime, settings.delta_expired_status) == (None, 400)
    default = cli.settings_from(cli.parser().parse_args([]))
    assert (default.delta_token_lifetime, default.delta_expired_status) == (604800, 410)
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["--delta-token-lifetime", "-5"])
    assert "positive number of seconds" in capsys.readouterr().err
    help_text = cli.parser().format_help()
    for text in ("/_emulator/delta/expire", "return=minimal", "syncStateNotFound", "@removed"):
        assert text in help_text


# ----- through the SDK --------------------------------------------------------------------------


async def sdk_round(client: GraphServiceClient, link: str | None) -> tuple[list[User], str]:
    """One round through the SDK: the typed users, and the deltaLink."""
    if link is None:
        query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
            select=["id", "department", "accountEnabled"]
        )
        page = await client.users.delta.get(RequestConfiguration(query_parameters=query))
    else:
        page = await client.users.delta.with_url(link).get()
    users = list(page.value)
    while page.odata_next_link:
        page = await client.users.delta.with_url(page.odata_next_link).get()
        users.extend(page.value)
    assert page.odata_delta_link
    return users, page.odata_delta_link


async def test_sdk_follows_delta_rounds_with_select(client: GraphServiceClient) -> None:
    users, link = await sdk_round(client, None)
    assert len({user.id for user in users}) == len(users) == USERS
    assert all(user.department is not None or user.account_enabled is not None for user in users)
    changed, gone = users[0].id, users[1].id
    await client.users.by_user_id(changed).patch(User(department="Delta Dept"))
    await client.users.by_user_id(gone).delete()
    later, _ = await sdk_round(client, link)
    by_id = {user.id: user for user in later}
    assert set(by_id) == {changed, gone}
    assert by_id[changed].department == "Delta Dept"
    assert by_id[gone].additional_data["@removed"] == {"reason": "changed"}

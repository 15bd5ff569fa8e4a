"""POST /$batch: limits, dependsOn, per-item answers in any order, faults and counting."""

from __future__ import annotations

from graph_emulator import EmulatorServer, sample
from tests.graph_emulator.graph_api import Api, assert_graph_error

GRAPH = "https://graph.microsoft.com/v1.0"
JSON = {"Content-Type": "application/json"}


def _outsiders(api: Api, group_id: str, count: int) -> list[str]:
    inside = {m["id"] for m in api.all_pages(f"/groups/{group_id}/members?$select=id&$top=999")}
    users = api.all_pages("/users?$select=id&$top=999")
    return [u["id"] for u in users if u["id"] not in inside][:count]


def _add(item_id: str, group_id: str, user_id: str, **extra) -> dict:
    return {
        "id": item_id,
        "method": "POST",
        "url": f"/groups/{group_id}/members/$ref",
        "headers": JSON,
        "body": {"@odata.id": f"{GRAPH}/directoryObjects/{user_id}"},
        **extra,
    }


def _by_id(response) -> dict[str, dict]:
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["responses"]}


def test_items_answer_with_their_own_status_headers_and_body(api: Api) -> None:
    user = _outsiders(api, sample.SALES_ALL, 1)[0]
    response = api.post(
        "/$batch",
        {
            "requests": [
                {
                    "id": "read",
                    "method": "GET",
                    "url": f"/users/{sample.CEO_ID}?$select=id,jobTitle",
                },
                _add("add", sample.SALES_ALL, user),
                {"id": "missing", "method": "GET", "url": "/users/nobody"},
                {
                    "id": "remove",
                    "method": "DELETE",
                    "url": f"/groups/{sample.SALES_ALL}/members/nobody/$ref",
                },
            ]
        },
    )
    items = _by_id(response)
    assert items["read"]["status"] == 200
    assert items["read"]["body"]["jobTitle"] == "Chief Executive Officer"
    assert items["read"]["headers"]["Content-Type"].startswith("application/json")
    assert items["add"]["status"] == 204 and "body" not in items["add"]
    assert items["missing"]["status"] == 404
    assert items["missing"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert items["remove"]["status"] == 404


def test_responses_come_back_in_another_order(api: Api) -> None:
    requests = [
        {"id": str(n), "method": "GET", "url": f"/users/{sample.CEO_ID}?$select=id"}
        for n in range(20)
    ]
    order = [item["id"] for item in api.post("/$batch", {"requests": requests}).json()["responses"]]
    assert sorted(order, key=int) == [str(n) for n in range(20)]
    assert order != [str(n) for n in range(20)]


def test_more_than_twenty_requests_fail_the_whole_batch(api: Api, graph: EmulatorServer) -> None:
    requests = [{"id": str(n), "method": "GET", "url": "/users?$top=1"} for n in range(21)]
    assert_graph_error(api.post("/$batch", {"requests": requests}), 400, "BadRequest")
    assert "GET /users" not in graph.counters()["byRoute"]


def test_duplicate_ids_and_unknown_dependencies_fail_the_whole_batch(api: Api) -> None:
    same = [{"id": "1", "method": "GET", "url": "/users"}] * 2
    assert_graph_error(api.post("/$batch", {"requests": same}), 400, "BadRequest")
    unknown = [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]
    assert_graph_error(api.post("/$batch", {"requests": unknown}), 400, "BadRequest")
    assert_graph_error(api.post("/$batch", {"nothing": []}), 400, "BadRequest")


def test_depends_on_runs_in_order_and_a_failed_dependency_gives_424(api: Api) -> None:
    first, second = _outsiders(api, sample.GUESTS, 2)
    existing = next(m["id"] for m in api.all_pages(f"/groups/{sample.GUESTS}/members?$select=id"))
    items = _by_id(
        api.post(
            "/$batch",
            {
                "requests": [
                    _add("a", sample.GUESTS, first),
                    _add("b", sample.GUESTS, existing, dependsOn=["a"]),
                    _add("c", sample.GUESTS, second, dependsOn=["b"]),
                ]
            },
        )
    )
    assert items["a"]["status"] == 204
    assert items["b"]["status"] == 400
    assert items["c"]["status"] == 424
    assert items["c"]["body"]["error"]["code"] == "FailedDependency"
    members = {m["id"] for m in api.all_pages(f"/groups/{sample.GUESTS}/members?$select=id")}
    assert first in members and second not in members


def test_an_item_with_a_body_needs_a_content_type(api: Api) -> None:
    user = _outsiders(api, sample.GUESTS, 1)[0]
    item = _add("1", sample.GUESTS, user)
    del item["headers"]
    assert _by_id(api.post("/$batch", {"requests": [item]}))["1"]["status"] == 400


def test_throttled_items_carry_their_own_retry_after(api: Api, graph: EmulatorServer) -> None:
    graph.add_fault(kind="status", status=429, retry_after="2.5", scope="batch", every_nth=2)
    requests = [
        {"id": str(n), "method": "GET", "url": f"/users/{sample.CEO_ID}?$select=id"}
        for n in range(6)
    ]
    items = _by_id(api.post("/$batch", {"requests": requests}))
    throttled = [i for i in items.values() if i["status"] == 429]
    assert len(throttled) == 3
    assert all(i["headers"]["Retry-After"] == "2.5" for i in throttled)
    assert throttled[0]["body"]["error"]["code"] == "TooManyRequests"
    direct = api.get(f"/users/{sample.CEO_ID}")
    assert direct.status_code == 200  # scope "batch" leaves direct requests alone


def test_batch_items_count_as_graph_calls(api: Api, graph: EmulatorServer) -> None:
    requests = [{"id": str(n), "method": "GET", "url": "/groups?$top=1"} for n in range(3)]
    api.post("/$batch", {"requests": requests})
    api.get("/groups?$top=1")
    counters = graph.counters()
    assert counters["httpRequests"] == 2
    assert counters["batchItems"] == 3
    assert counters["graphCalls"] == 5
    assert counters["byRoute"]["POST /$batch"]["count"] == 1
    assert counters["byRoute"]["GET /groups"] == {"count": 4, "inBatch": 3, "statuses": {"200": 4}}
    logged = graph.requests()
    batch_ids = {entry["batchId"] for entry in logged if entry["route"] == "/groups"}
    outer = next(entry for entry in logged if entry["route"] == "/$batch")
    assert batch_ids == {None, outer["requestId"]}

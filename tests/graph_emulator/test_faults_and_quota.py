"""The fault plan (status, latency, dropped connections) and the optional write quota."""

from __future__ import annotations

import httpx
import pytest

from graph_emulator import ControlError, EmulatorServer, sample
from tests.graph_emulator.graph_api import Api, assert_graph_error


def test_every_nth_call_fails_with_the_chosen_status(api: Api, graph: EmulatorServer) -> None:
    rule = graph.add_fault(kind="status", status=503, method="GET", route="/users", every_nth=3)
    responses = [api.get("/users?$top=1") for _ in range(6)]
    assert [r.status_code for r in responses] == [200, 200, 503, 200, 200, 503]
    assert_graph_error(responses[2], 503, "serviceNotAvailable")
    assert api.get("/groups?$top=1").status_code == 200  # another route is untouched
    listed = next(f for f in graph.faults() if f["id"] == rule["id"])
    assert (listed["matched"], listed["fired"]) == (6, 2)
    assert graph.requests()[2]["fault"] == "503"


def test_429_carries_integer_or_decimal_retry_after(api: Api, graph: EmulatorServer) -> None:
    graph.add_fault(kind="status", status=429, retry_after="2.128", route="/groups/*", times=1)
    throttled = api.get(f"/groups/{sample.GUESTS}")
    error = assert_graph_error(throttled, 429, "TooManyRequests", "Please retry again later.")
    assert throttled.headers["Retry-After"] == "2.128"
    assert error["innerError"]["status"] == "429"
    assert api.get(f"/groups/{sample.GUESTS}").status_code == 200  # times=1


def test_probability_faults_are_seeded_and_repeatable(api: Api, graph: EmulatorServer) -> None:
    def run() -> list[int]:
        graph.clear_faults()
        graph.add_fault(kind="status", status=500, probability=0.5, seed=42)
        return [api.get("/users?$top=1").status_code for _ in range(12)]

    first, second = run(), run()
    assert first == second
    assert 200 in first and 500 in first


def test_route_templates_and_methods_select_the_calls(api: Api, graph: EmulatorServer) -> None:
    graph.add_fault(
        kind="status", status=504, method="DELETE", route="/groups/{id}/members/{memberId}/$ref"
    )
    member = next(m["id"] for m in api.all_pages(f"/groups/{sample.GUESTS}/members?$select=id"))
    assert api.get(f"/groups/{sample.GUESTS}/members").status_code == 200
    assert_graph_error(
        api.delete(f"/groups/{sample.GUESTS}/members/{member}/$ref"), 504, "GatewayTimeout"
    )


def test_latency_delays_the_answer(api: Api, graph: EmulatorServer) -> None:
    graph.add_fault(kind="latency", latency_ms=150, route="/users/*")
    assert api.get(f"/users/{sample.CEO_ID}").status_code == 200
    entry = graph.requests()[-1]
    assert entry["fault"] == "latency" and entry["durationMs"] >= 150


def test_latency_after_holds_the_answer_of_a_call_that_already_took_effect(
    api: Api, graph: EmulatorServer
) -> None:
    """The window a worker can die in: the write is done, its answer has not arrived."""
    graph.add_fault(kind="latency", latency_ms=3000, phase="after", route="/groups/*", times=1)
    ref = {"@odata.id": f"{api.base_url}/directoryObjects/{sample.CEO_ID}"}
    with pytest.raises(httpx.ReadTimeout):
        api.post(f"/groups/{sample.GUESTS}/members/$ref", ref, timeout=0.5)
    [rule] = graph.faults()
    assert (rule["fired"], rule["holding"]) == (1, 1)  # the answer is still held back
    written = graph.writes()[-1]
    assert (written["action"], written["memberId"], written["applied"]) == (
        "add",
        sample.CEO_ID,
        True,
    )
    members = api.all_pages(f"/groups/{sample.GUESTS}/members?$select=id")
    assert sample.CEO_ID in {m["id"] for m in members}


def test_a_connection_dropped_in_the_middle_of_a_paged_listing(
    api: Api, graph: EmulatorServer
) -> None:
    graph.add_fault(kind="disconnect", route="/users", pages_only=True, times=1)
    first = api.get("/users?$select=id&$top=10").json()
    with pytest.raises(httpx.RemoteProtocolError):
        api.get(first["@odata.nextLink"])
    again = api.get(first["@odata.nextLink"])  # the next attempt works
    assert again.status_code == 200 and len(again.json()["value"]) == 10


def test_bad_fault_rules_are_refused(graph: EmulatorServer) -> None:
    with pytest.raises(ControlError) as caught:
        graph.add_fault(kind="status", status=200)
    assert caught.value.status == 400
    with pytest.raises(ControlError):
        graph.add_fault(kind="explode")
    with pytest.raises(ControlError):
        graph.add_fault(kind="disconnect", scope="batch")
    with pytest.raises(ControlError) as caught:
        graph.add_fault(kind="status", status=500, phase="after")
    assert "latency" in str(caught.value)


def test_write_quota_answers_429_with_retry_after_and_spares_reads(
    api: Api, graph: EmulatorServer
) -> None:
    graph.update_settings(write_quota=3, write_quota_window_seconds=60)
    user = next(
        u["id"]
        for u in api.all_pages("/users?$select=id,userType&$top=999")
        if u["userType"] == "Member"
    )
    statuses = [
        api.patch(f"/users/{user}", {"jobTitle": f"Title {n}"}).status_code for n in range(4)
    ]
    assert statuses == [204, 204, 204, 429]
    throttled = api.patch(f"/users/{user}", {"jobTitle": "again"})
    assert_graph_error(throttled, 429, "TooManyRequests")
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert throttled.headers["x-ms-throttle-information"] == "WriteLimitExceeded"
    assert api.get(f"/users/{user}").status_code == 200
    graph.update_settings(retry_after_format="decimal")
    assert "." in api.patch(f"/users/{user}", {"jobTitle": "x"}).headers["Retry-After"]


def test_quota_is_off_by_default(api: Api, graph: EmulatorServer) -> None:
    assert graph.settings()["writeQuota"] is None
    user = api.get("/users?$top=1&$select=id").json()["value"][0]["id"]
    statuses = {api.patch(f"/users/{user}", {"jobTitle": str(n)}).status_code for n in range(30)}
    assert statuses == {204}

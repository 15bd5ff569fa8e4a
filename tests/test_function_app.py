"""function_app.py without the host: metadata, the two Graph webhooks, and a cold import.

The decorated functions are called directly with real `func.HttpRequest` objects and a small
stand-in for `func.Out` (local-toolchain.md §7).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import azure.functions as func
import pytest
from hypothesis import given
from hypothesis import strategies as st

import function_app
from harness.invocation import TRACEPARENT, invocation
from reconciler.work import message as work

SECRET = "s3cret-client-state"
SUB = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
IDS = [f"5f3c1b7e-0000-4000-8000-{n:012d}" for n in range(450)]
ROOT = Path(function_app.__file__).resolve().parent


class Out:
    """What the host passes for a queue output binding: set() once, read back by the test."""

    def __init__(self) -> None:
        self.value: list[str] | None = None
        self.calls = 0

    def set(self, value: list[str]) -> None:
        self.value = value
        self.calls += 1

    def get(self) -> list[str] | None:
        return self.value

    def messages(self) -> list[work.Message]:
        return [work.decode(text) for text in self.value or []]

    def user_ids(self) -> list[str]:
        return [i for m in self.messages() if isinstance(m, work.UsersMessage) for i in m.user_ids]


@pytest.fixture(autouse=True)
def client_state(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CLIENT_STATE", SECRET)
    return SECRET


def post(route: str, body: bytes = b"", params: dict[str, str] | None = None) -> func.HttpRequest:
    return func.HttpRequest(
        "POST",
        f"http://localhost/api/{route}",
        params=params or {},
        body=body,
        headers={"Content-Type": "application/json"},
    )


def change(user_id: str, client_state: object = SECRET) -> dict:
    return {
        "changeType": "updated",
        "clientState": client_state,
        "resource": f"Users/{user_id}",
        "resourceData": {"@odata.type": "#Microsoft.Graph.User", "id": user_id},
        "subscriptionId": SUB,
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
    }


def notifications(*items: object) -> tuple[func.HttpResponse, Out]:
    out = Out()
    body = json.dumps({"value": list(items)}).encode()
    return function_app.notifications(post("notifications", body), out, invocation()), out


def error_of(response: func.HttpResponse) -> dict:
    assert response.mimetype == "application/json"
    return json.loads(response.get_body())["error"]


# --- metadata the host indexes -------------------------------------------------------------------


@pytest.fixture(scope="module")
def indexed() -> dict[str, object]:
    """app.get_functions() once, as the host indexes it. azure-functions 1.26 remembers the
    names it has seen and raises on a second call, so its memory is restored afterwards (for
    devhost tests in the same session); within one call it still rejects duplicate names."""
    app = function_app.app
    seen = app.functions_bindings
    app.functions_bindings = {}
    try:
        functions = app.get_functions()
    finally:
        app.functions_bindings = seen
    return {f.get_function_name(): f for f in functions}


def bindings(indexed: dict, name: str) -> dict[str, dict]:
    document = json.loads(indexed[name].get_function_json())
    return {binding["type"]: binding for binding in document["bindings"]}


@pytest.mark.parametrize("name", ["notifications", "lifecycle"])
def test_webhooks_are_post_routes_with_function_keys_and_a_queue_output(
    indexed: dict, name: str
) -> None:
    found = bindings(indexed, name)
    assert found["httpTrigger"]["route"] == name
    assert found["httpTrigger"]["methods"] == ["POST"]
    assert found["httpTrigger"]["authLevel"] == "FUNCTION"
    assert found["queue"] == {
        "direction": "OUT",
        "type": "queue",
        "name": "msg",
        "queueName": "%USER_CHANGES_QUEUE%",
        "connection": "AzureWebJobsStorage",
    }


def test_the_app_declares_every_function_once(indexed: dict) -> None:
    assert sorted(indexed) == [
        "console",
        "decide_hold",
        "delta_catchup",
        "full_reconcile",
        "lifecycle",
        "list_holds",
        "log_poison_message",
        "notifications",
        "process_user_changes",
        "show_hold",
        "status",
        "subscription_upkeep",
        "sync_group",
        "sync_user",
    ]


@pytest.mark.parametrize(
    ("name", "route", "method"),
    [
        ("list_holds", "holds", "GET"),
        ("show_hold", "holds/{id}", "GET"),
        ("decide_hold", "holds/{id}/{action}", "POST"),
        ("status", "status", "GET"),
    ],
)
def test_operator_routes_need_the_master_key(
    indexed: dict, name: str, route: str, method: str
) -> None:
    trigger = bindings(indexed, name)["httpTrigger"]
    assert (trigger["route"], trigger["authLevel"], trigger["methods"]) == (
        route,
        "ADMIN",
        [method],
    )


def test_the_console_is_anonymous_for_the_host_and_checks_its_principal_itself(
    indexed: dict,
) -> None:
    # Browsers cannot send function keys: App Service Authentication stands in front, and
    # reconciler/console/ refuses requests without a principal holding one of its app roles.
    trigger = bindings(indexed, "console")["httpTrigger"]
    assert (trigger["route"], trigger["authLevel"], sorted(trigger["methods"])) == (
        "console/{*path}",
        "ANONYMOUS",
        ["GET", "POST"],
    )


def test_the_worker_and_its_poison_logger_listen_on_the_configured_queue(indexed: dict) -> None:
    assert bindings(indexed, "process_user_changes")["queueTrigger"]["queueName"] == (
        "%USER_CHANGES_QUEUE%"
    )
    assert bindings(indexed, "log_poison_message")["queueTrigger"]["queueName"] == (
        "%USER_CHANGES_QUEUE%-poison"
    )


def test_timers_take_their_schedule_from_settings(indexed: dict) -> None:
    assert bindings(indexed, "full_reconcile")["timerTrigger"]["schedule"] == (
        "%FULL_RECONCILE_SCHEDULE%"
    )
    assert bindings(indexed, "subscription_upkeep")["timerTrigger"]["runOnStartup"] is True
    catch_up = bindings(indexed, "delta_catchup")["timerTrigger"]
    assert (catch_up["schedule"], catch_up["runOnStartup"]) == ("%DELTA_CATCHUP_SCHEDULE%", False)


@pytest.mark.parametrize(
    ("name", "route"), [("sync_user", "sync/users/{id}"), ("sync_group", "sync/groups/{id}")]
)
def test_sync_routes_need_a_function_key(indexed: dict, name: str, route: str) -> None:
    trigger = bindings(indexed, name)["httpTrigger"]
    assert (trigger["route"], trigger["authLevel"], trigger["methods"]) == (
        route,
        "FUNCTION",
        ["POST"],
    )


def test_sync_user_enqueues_one_users_message_with_cause_sync() -> None:
    out = Out()
    user_id = "11111111-2222-3333-4444-555555555555"
    req = func.HttpRequest("POST", "/api/sync/users/x", body=b"", route_params={"id": user_id})
    response = function_app.sync_user(req, out)
    assert response.status_code == 202
    [text] = out.get()
    message = work.decode(text)
    assert (message.user_ids, message.cause) == ((user_id,), "sync")


def test_sync_with_an_unusable_id_is_a_400_and_enqueues_nothing() -> None:
    out = Out()
    req = func.HttpRequest("POST", "/api/sync/groups/x", body=b"", route_params={"id": "a b"})
    response = function_app.sync_group(req, out)
    assert response.status_code == 400 and out.get() is None


@pytest.mark.parametrize("name", ["sync_user", "sync_group"])
def test_sync_with_an_id_that_is_not_a_guid_is_a_400_and_enqueues_nothing(name: str) -> None:
    out = Out()
    req = func.HttpRequest("POST", "/api/sync/x", body=b"", route_params={"id": "not-a-guid"})
    response = getattr(function_app, name)(req, out)
    assert response.status_code == 400 and out.get() is None
    error = json.loads(response.get_body())["error"]
    assert (error["code"], error["message"]) == (
        "InvalidId",
        "'not-a-guid' is not an object id (a GUID)",
    )


# --- validation handshake ------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["notifications", "lifecycle"])
@pytest.mark.parametrize(
    "token",
    [
        "Validation: Testing client application reachability for subscription Request-Id: 7f10",
        "<b onmouseover='x'>&lt;</b>",
        "x" * 1024,
    ],
)
def test_validation_token_is_echoed_exactly_as_plain_text_before_any_body_parsing(
    route: str, token: str
) -> None:
    out = Out()
    request = post(route, b"this body is not JSON", {"validationToken": token})
    response = getattr(function_app, route)(request, out, invocation())
    assert response.status_code == 200
    assert response.get_body() == token.encode("utf-8")
    assert response.mimetype == "text/plain"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert out.calls == 0


@pytest.mark.parametrize("route", ["notifications", "lifecycle"])
@pytest.mark.parametrize("token", ["", "x" * 1025])
def test_absurd_validation_tokens_get_400(route: str, token: str) -> None:
    out = Out()
    response = getattr(function_app, route)(
        post(route, b"", {"validationToken": token}), out, invocation()
    )
    assert response.status_code == 400
    assert b"1 to 1,024 characters" in response.get_body()
    assert out.calls == 0


def test_validation_works_without_client_state_configured(monkeypatch) -> None:
    monkeypatch.delenv("CLIENT_STATE")
    response = function_app.notifications(
        post("notifications", params={"validationToken": "t"}), Out(), invocation()
    )
    assert (response.status_code, response.get_body()) == (200, b"t")


# --- change notifications ------------------------------------------------------------------------


def test_user_changes_are_enqueued_as_version_1_json_and_answered_202() -> None:
    response, out = notifications(change(IDS[0]), change(IDS[1]))
    assert response.status_code == 202
    assert out.calls == 1
    (message,) = out.messages()
    assert isinstance(message, work.UsersMessage)
    assert message.user_ids == (IDS[0], IDS[1])
    assert message.cause == "notification"
    assert json.loads(out.value[0])["v"] == 1


def test_duplicate_notifications_enqueue_each_user_once() -> None:
    response, out = notifications(*(change(IDS[0]) for _ in range(5)), change(IDS[1]))
    assert response.status_code == 202
    assert out.user_ids() == [IDS[0], IDS[1]]


def test_450_changed_users_become_three_messages_with_one_correlation_id() -> None:
    response, out = notifications(*(change(i) for i in IDS))
    assert response.status_code == 202
    messages = out.messages()
    assert [len(m.user_ids) for m in messages] == [200, 200, 50]
    assert out.user_ids() == IDS
    assert len({m.correlation_id for m in messages}) == 1


def test_forged_client_state_enqueues_nothing_and_is_counted(caplog) -> None:
    caplog.set_level("INFO", logger="reconciler.webhook")
    response, out = notifications(change(IDS[0], "forged"), change(IDS[1], None))
    assert response.status_code == 202
    assert out.calls == 0
    (record,) = [json.loads(r.getMessage()) for r in caplog.records]
    assert record["dropped"] == 2
    assert record["droppedBy"] == {"clientState": 2}
    assert (record["accepted"], record["queuedUsers"], record["queuedMessages"]) == (0, 0, 0)
    assert caplog.records[0].levelname == "WARNING"


def test_forged_items_are_dropped_while_genuine_ones_in_the_same_post_are_kept() -> None:
    response, out = notifications(change(IDS[0], "forged"), change(IDS[1]))
    assert response.status_code == 202
    assert out.user_ids() == [IDS[1]]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"{not json", "body"),
        (b"", "body"),
        (b'{"values": []}', "body"),
        (b'{"value": "Users/1"}', "value"),
    ],
)
def test_bodies_that_are_no_notification_collection_get_400_and_enqueue_nothing(
    body: bytes, where: str
) -> None:
    out = Out()
    response = function_app.notifications(post("notifications", body), out, invocation())
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "InvalidNotification"
    assert error["where"].startswith(where)
    assert out.calls == 0


def without(item: dict, name: str) -> dict:
    return {key: value for key, value in item.items() if key != name}


def mixed_post() -> list[object]:
    """Good change items around one of every kind Graph (or someone else) could send."""
    group = change(IDS[3])
    group["resourceData"] = {"@odata.type": "#Microsoft.Graph.Group", "id": IDS[3]}
    unknown_resource = change(IDS[4])
    unknown_resource["resource"] = f"Groups/{IDS[4]}"
    del unknown_resource["resourceData"]
    return [
        change(IDS[0]),
        without(change(IDS[5]), "clientState"),  # no clientState
        change(IDS[6], "forged"),  # wrong clientState
        lifecycle_item("missed"),  # a lifecycle item on the change URL
        unknown_resource,  # a resource form we do not know
        {"clientState": SECRET, "subscriptionId": 7, "changeType": "updated"},  # wrong type
        [1, 2],  # not an object at all
        group,  # another resource type: accepted, not ours to enqueue
        change(IDS[1]),
        change(IDS[2]),
    ]


@pytest.mark.parametrize("route", ["notifications", "lifecycle"])
def test_a_mixed_post_answers_202_and_queues_every_good_item(route: str, caplog) -> None:
    caplog.set_level("INFO", logger="reconciler.webhook")
    out = Out()
    body = json.dumps({"value": mixed_post()}).encode()
    response = getattr(function_app, route)(post(route, body), out, invocation())
    assert response.status_code == 202
    assert response.get_body() == b""  # the answer never says which check failed
    assert out.user_ids() == IDS[:3]
    (catch_up,) = [m for m in out.messages() if isinstance(m, work.MaintenanceMessage)]
    assert (catch_up.action, catch_up.subscription_id) == ("catch-up", SUB)
    summary, notice = [json.loads(r.getMessage()) for r in caplog.records]
    assert summary["droppedBy"] == {"clientState": 2, "resource": 1, "type": 2}
    assert (summary["accepted"], summary["ignored"], summary["queuedUsers"]) == (5, 1, 3)
    assert summary["queuedActions"] == ["catch-up"]
    assert notice["lifecycleEvent"] == "missed"


@pytest.mark.parametrize("route", ["notifications", "lifecycle"])
def test_the_correlation_id_is_the_invocation_trace_id(route: str) -> None:
    """One notification, one operation in Application Insights: host request, messages,
    worker spans and writes share the host's trace id."""
    items = [change(IDS[0]), lifecycle_item("missed")]
    body = json.dumps({"value": items}).encode()
    traced, fresh = Out(), Out()
    getattr(function_app, route)(post(route, body), traced, invocation())
    getattr(function_app, route)(post(route, body), fresh, invocation(traceparent="bogus"))
    assert {m.correlation_id for m in traced.messages()} == {TRACEPARENT.split("-")[1]}
    (other,) = {m.correlation_id for m in fresh.messages()}
    assert len(other) == 32 and other != TRACEPARENT.split("-")[1]


def test_2000_items_in_one_post_are_all_queued() -> None:
    ids = [f"5f3c1b7e-0000-4000-8000-{n:012d}" for n in range(2000)]
    items = [change(i) for i in ids]
    body = json.dumps({"value": items}, indent=2).encode()  # Graph's largest plausible shape
    out = Out()
    response = function_app.notifications(post("notifications", body), out, invocation())
    assert response.status_code == 202
    assert out.user_ids() == ids
    assert [len(m.user_ids) for m in out.messages()] == [200] * 10


def test_missing_client_state_setting_is_a_500_naming_it_only_in_the_log(
    monkeypatch, caplog
) -> None:
    monkeypatch.delenv("CLIENT_STATE")
    caplog.set_level("INFO", logger="reconciler.webhook")
    response, out = notifications(change(IDS[0]))
    assert response.status_code == 500  # Graph retries while the setting is fixed
    assert out.calls == 0
    assert "CLIENT_STATE" not in response.get_body().decode()
    assert "CLIENT_STATE is not set" in caplog.text


@pytest.mark.parametrize(
    ("name", "value"),
    [("WRITE_RATE", "abc"), ("GRAPH_CREDENTIAL", "bogus"), ("DRY_RUN", "maybe")],
)
def test_an_unrelated_bad_setting_does_not_break_the_webhooks(
    monkeypatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    response, out = notifications(change(IDS[0]))
    assert response.status_code == 202
    assert out.user_ids() == [IDS[0]]
    response, out = lifecycle_post(lifecycle_item("reauthorizationRequired"))
    assert response.status_code == 202
    assert out.calls == 1


def test_log_records_never_contain_the_client_state_or_the_token(caplog) -> None:
    caplog.set_level("DEBUG")
    notifications(change(IDS[0]), change(IDS[1], "forged-guess"))
    notifications(change(IDS[0]), {"clientState": "forged-guess"})
    notifications({"clientState": SECRET, "resource": "forged-guess", "changeType": "x"})
    function_app.notifications(
        post("notifications", params={"validationToken": "tok-123"}), Out(), invocation()
    )
    assert caplog.records
    assert SECRET not in caplog.text
    assert "forged-guess" not in caplog.text
    assert "tok-123" not in caplog.text


# --- lifecycle notifications ---------------------------------------------------------------------


def lifecycle_post(*items: dict) -> tuple[func.HttpResponse, Out]:
    out = Out()
    body = json.dumps({"value": list(items), "validationTokens": ["jwt"]}).encode()
    return function_app.lifecycle(post("lifecycle", body), out, invocation()), out


def lifecycle_item(event: str, client_state: object = SECRET) -> dict:
    return {
        "lifecycleEvent": event,
        "subscriptionId": SUB,
        "resource": "",
        "clientState": client_state,
        "organizationId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "subscriptionExpirationDateTime": "2023-09-05T01:03:01.889254-07:00",
    }


def test_reauthorization_required_enqueues_one_renewal_message() -> None:
    response, out = lifecycle_post(
        lifecycle_item("reauthorizationRequired"), lifecycle_item("reauthorizationRequired")
    )
    assert response.status_code == 202
    (message,) = out.messages()
    assert isinstance(message, work.MaintenanceMessage)
    assert (message.action, message.subscription_id) == ("renew-subscription", SUB)


@pytest.mark.parametrize(
    ("event", "action"),
    [("subscriptionRemoved", "recreate-subscription"), ("missed", "catch-up")],
)
def test_removed_and_missed_queue_their_action_and_are_logged_clearly(
    event: str, action: str, caplog
) -> None:
    caplog.set_level("INFO", logger="reconciler.webhook")
    response, out = lifecycle_post(lifecycle_item(event), lifecycle_item(event))
    assert response.status_code == 202
    (message,) = out.messages()
    assert isinstance(message, work.MaintenanceMessage)
    assert (message.action, message.subscription_id) == (action, SUB)
    _, record, _ = [json.loads(r.getMessage()) for r in caplog.records]
    assert record["lifecycleEvent"] == event
    assert record["subscriptionId"] == SUB
    assert "catch-up" in record["note"]
    assert caplog.records[1].levelname == "WARNING"


def test_an_unknown_lifecycle_event_is_logged_and_enqueues_nothing(caplog) -> None:
    caplog.set_level("INFO", logger="reconciler.webhook")
    response, out = lifecycle_post(lifecycle_item("somethingNew"))
    assert response.status_code == 202
    assert out.calls == 0
    assert "Unknown lifecycle event" in caplog.text


@pytest.mark.parametrize("subscription_id", ["has spaces", "x" * 300, "", "not-a-guid"])
def test_an_authentic_lifecycle_item_with_an_unusable_subscription_id_is_dropped_not_a_500(
    subscription_id: str,
) -> None:
    bad = {**lifecycle_item("missed"), "subscriptionId": subscription_id}
    response, out = lifecycle_post(bad, lifecycle_item("subscriptionRemoved"))
    assert response.status_code == 202
    (message,) = out.messages()
    assert isinstance(message, work.MaintenanceMessage)
    assert (message.action, message.subscription_id) == ("recreate-subscription", SUB)


def test_forged_lifecycle_notifications_renew_nothing() -> None:
    response, out = lifecycle_post(lifecycle_item("reauthorizationRequired", "forged"))
    assert response.status_code == 202
    assert out.calls == 0


def test_a_lifecycle_item_without_its_fields_is_dropped_and_the_post_still_202() -> None:
    out = Out()
    response = function_app.lifecycle(post("lifecycle", b'{"value": [{}]}'), out, invocation())
    assert response.status_code == 202
    assert out.calls == 0


def test_a_lifecycle_body_that_is_not_json_gets_400() -> None:
    out = Out()
    response = function_app.lifecycle(post("lifecycle", b"{oops"), out, invocation())
    assert response.status_code == 400
    assert error_of(response)["where"] == "body"
    assert out.calls == 0


# --- fuzz ----------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
guids = st.sampled_from(IDS[:5]) | st.uuids().map(str)
forged_states = st.none() | st.text(max_size=30).filter(lambda s: s != SECRET) | json_values
well_formed = st.builds(change, guids, st.just(SECRET) | forged_states)
mangled = st.fixed_dictionaries(
    {
        "clientState": st.just(SECRET) | forged_states,
        "subscriptionId": st.just(SUB) | json_values,
        "changeType": st.just("updated") | json_values,
        "resource": guids.map(lambda i: f"Users/{i}") | json_values,
        "resourceData": st.fixed_dictionaries({"id": guids | json_values}) | json_values,
    },
    optional={"lifecycleEvent": json_values, "extra": json_values},
)
bodies = (
    st.lists(well_formed, max_size=6).map(lambda value: json.dumps({"value": value}).encode())
    | st.lists(well_formed | mangled, max_size=6).map(
        lambda value: json.dumps({"value": value}).encode()
    )
    | json_values.map(lambda document: json.dumps(document).encode())
    | st.binary(max_size=60)
)


@given(body=bodies)
def test_fuzzed_webhook_bodies_never_5xx_and_never_enqueue_unauthenticated_ids(
    body: bytes,
) -> None:
    out = Out()
    response = function_app.notifications(post("notifications", body), out, invocation())
    assert response.status_code in (202, 400)
    if response.status_code == 400:
        assert out.calls == 0
        try:
            document = json.loads(body.decode("utf-8"))
        except ValueError:
            return  # not JSON (or not UTF-8) at all
        assert not isinstance(document, dict) or not isinstance(document.get("value"), list)
        return
    items = [i for i in json.loads(body)["value"] if isinstance(i, dict)]
    authentic = {
        claimed for i in items if i.get("clientState") == SECRET for claimed in claimed_ids(i)
    }
    assert set(out.user_ids()) <= authentic


def claimed_ids(item: dict) -> set[str]:
    """The user ids an item could name: resourceData.id, or what follows `Users/`."""
    ids = set()
    data, resource = item.get("resourceData"), item.get("resource")
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        ids.add(data["id"].lower())
    if isinstance(resource, str) and "/" in resource:
        ids.add(resource.rsplit("/", 1)[1].lower())
    return ids


# --- cold start ----------------------------------------------------------------------------------

HEAVY = (
    *("msgraph", "msgraph_core", "kiota_", "azure.identity", "azure.storage", "azure.core"),
    *("opentelemetry", "azure.monitor"),  # telemetry costs ~0.5 s: never for the webhook
)


def test_cold_import_loads_no_graph_sdk_identity_or_storage_client() -> None:
    """Imported, then one notification answered, with Application Insights configured."""
    script = (
        "import json, os, sys\n"
        "import function_app\n"
        "queue = os.environ.get('USER_CHANGES_QUEUE')\n"
        "import azure.functions as func\n"
        "from harness.invocation import invocation\n"
        "from tests.test_function_app import Out, change, post\n"
        "body = json.dumps({'value': [change('5f3c1b7e-0000-4000-8000-000000000001')]})\n"
        "answer = function_app.notifications(post('notifications', body.encode()), Out(),"
        " invocation())\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'queue': queue,"
        " 'status': answer.status_code}))\n"
    )
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in ("USER_CHANGES_QUEUE", "CLIENT_STATE", "AzureWebJobsStorage")
    }
    environ["CLIENT_STATE"] = SECRET
    environ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = "InstrumentationKey=0;IngestionEndpoint=x"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    heavy = [m for m in report["modules"] if m.startswith(HEAVY)]
    assert heavy == []
    assert "function_app" in report["modules"]  # the check looked at a real import
    assert report["status"] == 202
    # The host resolves %USER_CHANGES_QUEUE% from its app settings; the import sets nothing.
    assert report["queue"] is None

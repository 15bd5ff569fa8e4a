"""Webhook fuzz beyond tests/test_function_app.py: huge bodies, thousands of ids, forged or
missing clientState, unknown subscriptions, and validation tokens that are huge or hold markup."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import function_app
from harness.invocation import invocation
from reconciler import notify
from reconciler.work import message as work
from tests.test_function_app import SECRET, SUB, Out, change, post

FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ROUTES = ["notifications", "lifecycle"]


@pytest.fixture(autouse=True)
def client_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENT_STATE", SECRET)


def uid(n: int) -> str:
    return f"5f3c1b7e-0000-4000-8000-{n:012d}"


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("size", [notify.MAX_BODY_BYTES + 1, 5 * 1024 * 1024])
def test_huge_bodies_get_413_before_parsing_and_enqueue_nothing(route: str, size: int) -> None:
    items = json.dumps(change(uid(1)))
    body = ('{"value": [' + ",".join([items] * (size // len(items) + 1)) + "]}").encode()
    out = Out()
    response = getattr(function_app, route)(post(route, body), out, invocation())
    assert response.status_code == 413
    assert json.loads(response.get_body())["error"]["code"] == "PayloadTooLarge"
    assert out.calls == 0


def test_a_body_just_under_the_limit_is_still_read() -> None:
    item = json.dumps(change(uid(1)))
    count = (notify.MAX_BODY_BYTES - 20) // (len(item) + 1)
    body = ('{"value": [' + ",".join([item] * count) + "]}").encode()
    assert len(body) <= notify.MAX_BODY_BYTES
    out = Out()
    assert (
        function_app.notifications(post("notifications", body), out, invocation()).status_code
        == 202
    )
    assert out.user_ids() == [uid(1)]


@FUZZ
@given(count=st.integers(1, 2000), duplicates=st.booleans())
@example(count=2000, duplicates=True)
def test_thousands_of_ids_become_chunks_of_at_most_200(count: int, duplicates: bool) -> None:
    ids = [uid(n) for n in range(count)]
    items = [change(i) for i in ids] + ([change(i) for i in ids[:50]] if duplicates else [])
    out = Out()
    body = json.dumps({"value": items}).encode()
    response = function_app.notifications(post("notifications", body), out, invocation())
    assert response.status_code == 202
    messages = out.messages()
    assert all(1 <= len(m.user_ids) <= 200 for m in messages)
    assert out.user_ids() == ids
    assert len({m.correlation_id for m in messages}) == 1


client_states = (
    st.none()
    | st.text(max_size=40).filter(lambda s: s != SECRET)
    | st.just(SECRET.upper())
    | st.just(SECRET[:-1])
    | st.just(SECRET + " ")
    | st.just("")
)


@FUZZ
@given(
    states=st.lists(client_states | st.just(SECRET) | st.just("<missing>"), min_size=1, max_size=8),
    subscription=st.just(SUB) | st.uuids().map(str) | st.text(min_size=1, max_size=30),
)
def test_only_items_with_the_exact_client_state_are_enqueued_whatever_the_subscription(
    states: list[object], subscription: str
) -> None:
    items = []
    for n, state in enumerate(states):
        item = change(uid(n), state)
        item["subscriptionId"] = subscription
        if state == "<missing>":
            del item["clientState"]
        items.append(item)
    out = Out()
    body = json.dumps({"value": items}).encode()
    response = function_app.notifications(post("notifications", body), out, invocation())
    assert response.status_code == 202  # a missing clientState drops that item, not the POST
    assert out.user_ids() == [uid(n) for n, s in enumerate(states) if s == SECRET]
    for message in out.messages():
        assert isinstance(message, work.UsersMessage) and message.cause == "notification"


@FUZZ
@given(states=st.lists(client_states | st.just(SECRET), min_size=1, max_size=5))
def test_forged_lifecycle_items_never_queue_a_renewal(states: list[object]) -> None:
    items = [
        {"lifecycleEvent": "reauthorizationRequired", "subscriptionId": SUB, "clientState": s}
        for s in states
    ]
    out = Out()
    response = function_app.lifecycle(
        post("lifecycle", json.dumps({"value": items}).encode()), out, invocation()
    )
    assert response.status_code == 202
    assert (out.calls == 1) == (SECRET in states)


markup = st.sampled_from(
    ["<script>alert(1)</script>", "<b onmouseover='x'>", "&lt;&amp;", "]]>", "\r\nSet-Cookie: a=b"]
)
tokens = st.text(min_size=1, max_size=1024) | st.lists(
    markup | st.text(max_size=30), min_size=1, max_size=20
).map("".join).filter(lambda t: 1 <= len(t) <= 1024)


@FUZZ
@given(route=st.sampled_from(ROUTES), token=tokens)
def test_valid_tokens_are_echoed_byte_for_byte_as_nosniff_plain_text(
    route: str, token: str
) -> None:
    out = Out()
    response = getattr(function_app, route)(
        post(route, b"{}", {"validationToken": token}), out, invocation()
    )
    assert response.status_code == 200
    assert response.get_body() == token.encode("utf-8", "surrogatepass")
    assert response.mimetype == "text/plain"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert out.calls == 0


@FUZZ
@given(
    route=st.sampled_from(ROUTES),
    token=st.just("")
    | st.integers(1025, 200_000).map(lambda n: ("<script>" * (n // 8 + 1))[:n])
    | st.text(min_size=1025, max_size=1500),
)
def test_invalid_tokens_are_never_echoed(route: str, token: str) -> None:
    out = Out()
    response = getattr(function_app, route)(
        post(route, b"", {"validationToken": token}), out, invocation()
    )
    assert response.status_code == 400
    body = response.get_body().decode()
    assert "<" not in body and len(body) < 200
    assert token == "" or token[:40] not in body
    assert out.calls == 0

"""HTTP triggers through devhost: routes, parameters, methods, keys, answers and failures."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from azure.core.exceptions import ResourceNotFoundError

from devhost import DevHost


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=20) as client:
        yield client


def test_route_params_method_and_the_functions_response(
    start_devhost: Callable[..., DevHost], http: httpx.Client
) -> None:
    host = start_devhost()
    response = http.put(f"{host.base_url}/api/items/42", content=b"one")
    assert response.status_code == 202
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"id": "42", "method": "PUT", "n": 1}


def test_async_function_with_context_optional_param_and_text_charset(
    start_devhost: Callable[..., DevHost], http: httpx.Client
) -> None:
    host = start_devhost()
    named = http.get(f"{host.base_url}/api/hello/ana")
    assert named.text == "hello ana from hello"
    assert named.headers["content-type"] == "text/plain; charset=utf-8"
    assert http.get(f"{host.base_url}/api/HELLO?name=bo").text == "hello bo from hello"


def test_unknown_routes_wrong_methods_and_failed_constraints_are_404(
    start_devhost: Callable[..., DevHost], http: httpx.Client
) -> None:
    host = start_devhost()
    assert http.get(f"{host.base_url}/api/items/42").status_code == 404  # GET not allowed
    assert http.post(f"{host.base_url}/api/items/abc", content=b"x").status_code == 404  # :int
    assert http.get(f"{host.base_url}/api/no-such-route").status_code == 404
    assert http.get(f"{host.base_url}/hello/ana").status_code == 404  # outside the prefix


def test_keys_are_not_checked_by_default_like_core_tools(
    start_devhost: Callable[..., DevHost], http: httpx.Client
) -> None:
    host = start_devhost()
    assert http.post(f"{host.base_url}/api/items/1", content=b"x").status_code == 202
    assert http.get(f"{host.base_url}/api/secret").text == "admin only"


def test_require_keys_checks_function_and_admin_levels(
    start_devhost: Callable[..., DevHost], http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVHOST_FUNCTION_KEY", "fn-key")
    host = start_devhost(require_keys=True)
    master = host.keys.master_key
    url = f"{host.base_url}/api/items/7"
    assert master and master != "fn-key"
    assert http.post(url, content=b"x").status_code == 401
    assert http.post(url, content=b"x", headers={"x-functions-key": "wrong"}).status_code == 401
    assert http.post(url, content=b"x", headers={"x-functions-key": "fn-key"}).status_code == 202
    assert http.post(f"{url}?code=fn-key", content=b"x").status_code == 202
    assert http.post(url, content=b"x", headers={"x-functions-key": master}).status_code == 202
    # ADMIN takes only the master key; ANONYMOUS takes none.
    secret = f"{host.base_url}/api/secret"
    assert http.get(secret, headers={"x-functions-key": "fn-key"}).status_code == 401
    assert http.get(secret, headers={"x-functions-key": master}).text == "admin only"
    assert http.get(f"{host.base_url}/api/hello").status_code == 200
    # The admin API needs the master key too.
    admin = f"{host.base_url}/admin/functions/tick"
    assert http.post(admin, json={"input": ""}).status_code == 401
    assert (
        http.post(admin, json={"input": ""}, headers={"x-functions-key": master}).status_code == 202
    )


def test_function_exception_or_no_response_is_500(
    start_devhost: Callable[..., DevHost], http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    host = start_devhost()
    response = http.get(f"{host.base_url}/api/crash")
    assert response.status_code == 500
    assert response.content == b""
    assert "RuntimeError: boom" in caplog.text
    assert http.get(f"{host.base_url}/api/nothing").status_code == 500


def test_queue_output_lands_base64_encoded_in_azurite(
    start_devhost: Callable[..., DevHost], http: httpx.Client, queue, out_queue: str
) -> None:
    host = start_devhost()
    response = http.post(f"{host.base_url}/api/items/3", content="first\nsecond ü\n".encode())
    assert response.status_code == 202 and response.json()["n"] == 2
    # Written before the answer, so it is there now: one base64 message per list item, as
    # the host's queues extension writes them (the queue was created on the way).
    contents = sorted(m.content for m in queue(out_queue).peek_messages(max_messages=32))
    assert contents == sorted(base64.b64encode(s.encode()).decode() for s in ("first", "second ü"))


def test_an_output_the_workers_converter_refuses_answers_500_and_writes_nothing(
    start_devhost: Callable[..., DevHost],
    http: httpx.Client,
    queue,
    out_queue: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = start_devhost()
    assert http.post(f"{host.base_url}/api/wrong-output", content=b"x").status_code == 500
    # The worker's own message (azure_functions_runtime bindings.meta.get_datum).
    assert 'unable to encode outgoing TypedData: unsupported type "queue"' in caplog.text
    with pytest.raises(ResourceNotFoundError):  # never created: no message was ever sent
        queue(out_queue).peek_messages(max_messages=32)


def test_enqueue_failure_answers_500(
    start_devhost: Callable[..., DevHost], http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    host = start_devhost()
    response = http.post(f"{host.base_url}/api/broken", content=b"x")
    assert response.status_code == 500
    assert "could not write to queue" in caplog.text


def test_function_timeout_from_host_json_answers_500(
    start_devhost: Callable[..., DevHost], http: httpx.Client, tmp_path, caplog
) -> None:
    host_json = tmp_path / "host.json"
    host_json.write_text(json.dumps({"version": "2.0", "functionTimeout": "00:00:01"}))
    host = start_devhost(host_json=host_json)
    started = time.monotonic()
    assert http.get(f"{host.base_url}/api/hello?sleep=30").status_code == 500
    assert time.monotonic() - started < 20  # cut off by the timeout, not the 30 s sleep
    assert "Timeout value of 0:00:01 exceeded" in caplog.text


def test_message_encoding_none_writes_plain_text(
    start_devhost: Callable[..., DevHost], http: httpx.Client, tmp_path, queue, out_queue: str
) -> None:
    host_json = tmp_path / "host.json"
    host_json.write_text(json.dumps({"extensions": {"queues": {"messageEncoding": "none"}}}))
    host = start_devhost(host_json=host_json)
    assert http.post(f"{host.base_url}/api/items/1", content=b"plain").status_code == 202
    assert [m.content for m in queue(out_queue).peek_messages()] == ["plain"]

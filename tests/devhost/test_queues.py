"""Queue triggers through devhost and Azurite: decoding, deletion, retries after
visibilityTimeout, the poison queue, batch limits, and output -> trigger end to end."""

from __future__ import annotations

import base64
import contextlib
import itertools
from collections.abc import Callable

import httpx
import sample_app  # the module the worker loads (conftest.py puts its directory on sys.path)
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, TextBase64EncodePolicy

from devhost import Azurite, DevHost
from tests.devhost.fixtures import wait_until

# tests/devhost/host.json: visibilityTimeout 1 s, maxDequeueCount 3, batchSize 2, threshold 1.
VISIBILITY_S = 1.0
MAX_DEQUEUE = 3


def sender(azurite: Azurite, name: str) -> QueueClient:
    """A client that writes as other Functions code does: base64 on the wire."""
    client = QueueClient.from_connection_string(
        azurite.connection_string, name, message_encode_policy=TextBase64EncodePolicy()
    )
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()
    return client


def bodies() -> list[str]:
    return [r["body"] for r in list(sample_app.received)]


def queue_is_empty(client: QueueClient) -> bool:
    return client.get_queue_properties().approximate_message_count == 0


def test_trigger_receives_the_decoded_message_with_metadata_and_it_is_deleted(
    start_devhost: Callable[..., DevHost], azurite: Azurite, queue_name: str
) -> None:
    start_devhost()
    client = sender(azurite, queue_name)
    sent = client.send_message('{"v": 1, "kind": "users", "userIds": ["u1"]}')
    record = wait_until(lambda: next(iter(sample_app.received), None), what="the invocation")
    assert record["body"] == '{"v": 1, "kind": "users", "userIds": ["u1"]}'
    assert record["id"] == sent.id
    assert record["dequeue_count"] == 1
    assert record["pop_receipt"]
    assert record["insertion_time"] is not None and record["expiration_time"] is not None
    assert wait_until(lambda: queue_is_empty(client), what="the message to be deleted")
    client.close()


def test_failing_message_is_retried_after_visibility_timeout_then_poisoned_intact(
    start_devhost: Callable[..., DevHost], azurite: Azurite, queue_name: str, queue
) -> None:
    start_devhost()
    client = sender(azurite, queue_name)
    client.send_message("fail: always")
    client.send_message("fine after the failing one")
    poison = queue(f"{queue_name}-poison")
    peeked = wait_until(lambda: _peek(poison), timeout=15, what="the message in the poison queue")
    # Moved after exactly maxDequeueCount attempts, body still base64 as it was sent.
    assert [m.content for m in peeked] == [base64.b64encode(b"fail: always").decode()]
    attempts = [r for r in sample_app.received if r["body"] == "fail: always"]
    assert [r["dequeue_count"] for r in attempts] == [1, 2, 3]
    # Each retry waited for visibilityTimeout (a lower bound; the upper one is polling).
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(attempts)]
    assert all(gap >= VISIBILITY_S * 0.9 for gap in gaps), gaps
    # The other message was not held up behind the failing one.
    fine = next(r for r in sample_app.received if r["body"] == "fine after the failing one")
    assert fine["at"] < attempts[1]["at"]
    assert wait_until(lambda: queue_is_empty(client), what="the source queue to empty")
    client.close()


def test_undecodable_message_goes_to_poison_at_once_without_an_invocation(
    start_devhost: Callable[..., DevHost], azurite: Azurite, queue_name: str, queue
) -> None:
    start_devhost()
    raw = queue(queue_name)
    raw.create_queue()
    raw.send_message("not base64 {json}")  # no encode policy: plain text on the wire
    raw.send_message(base64.b64encode(b"valid").decode())
    poison = queue(f"{queue_name}-poison")
    peeked = wait_until(lambda: _peek(poison), what="the poison queue")
    assert [m.content for m in peeked] == ["not base64 {json}"]
    wait_until(lambda: "valid" in bodies(), what="the valid message")
    assert bodies() == ["valid"]


def test_no_more_than_batch_size_plus_threshold_messages_run_at_once(
    start_devhost: Callable[..., DevHost], azurite: Azurite, queue_name: str
) -> None:
    start_devhost()
    client = sender(azurite, queue_name)
    for _ in range(8):
        client.send_message("slow:0.2")
    wait_until(lambda: len(sample_app.received) == 8, what="all eight messages")
    # batchSize 2 + newBatchThreshold 1 (tests/devhost/host.json)
    assert 2 <= sample_app.in_flight["max"] <= 3
    client.close()


def test_http_output_feeds_the_queue_trigger_end_to_end(
    start_devhost: Callable[..., DevHost], queue_name: str, monkeypatch
) -> None:
    monkeypatch.setenv("OUT_QUEUE", queue_name)  # %OUT_QUEUE% and %QUEUE_NAME% now the same
    host = start_devhost()
    with httpx.Client(trust_env=False, timeout=20) as http:
        response = http.post(f"{host.base_url}/api/items/9", content=b"a\nb\nc")
    assert response.status_code == 202
    wait_until(lambda: sorted(bodies()) == ["a", "b", "c"], what="three decoded messages")


def test_admin_api_runs_a_queue_function_with_the_input_as_body(
    start_devhost: Callable[..., DevHost],
) -> None:
    host = start_devhost()
    with httpx.Client(trust_env=False, timeout=20) as http:
        response = http.post(
            f"{host.base_url}/admin/functions/process_item", json={"input": "by hand"}
        )
        assert response.status_code == 202
        assert http.post(f"{host.base_url}/admin/functions/nope", json={}).status_code == 404
        bad = http.post(f"{host.base_url}/admin/functions/process_item", content=b"[1]")
        assert bad.status_code == 400
    record = wait_until(lambda: next(iter(sample_app.received), None), what="the invocation")
    assert record["body"] == "by hand"


def _peek(client: QueueClient) -> list:
    try:
        return client.peek_messages(max_messages=32)
    except Exception:  # not created yet
        return []

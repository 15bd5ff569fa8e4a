"""Fuzz work-queue messages through the worker: anything undecodable ends in the poison queue
with one clear log record and never raises; valid messages never poison."""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.fuzz_inputs import json_values
from reconciler.settings import Settings
from reconciler.work import message as work
from reconciler.work.worker import process_message
from tests.graph.test_worker_on_emulator import RecordingQueue
from tests.memory_directory import MemoryDirectory

ROOT = Path(__file__).resolve().parents[2]
SALES = "10000000-0000-4000-8000-000000000001"
USER = "20000000-0000-4000-8000-000000000001"
GUIDS = st.uuids().map(str)
FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RULES_FILE", str(ROOT / "rules.sample.toml"))

    @asynccontextmanager
    async def factory(_: Settings):
        directory = MemoryDirectory([{"id": USER, "department": "Sales", "accountEnabled": True}])
        directory.add_group(SALES, "Sales")
        yield directory

    return replace(Settings(graph_static_token="t"), recheck_delay_seconds=5), factory


def valid_dict(kind: str, ids: list[str]) -> dict:
    [message] = (work.users_messages if kind == "users" else work.group_messages)(ids, cause="sync")
    return json.loads(work.encode(message))


@st.composite
def broken_documents(draw: st.DrawFn) -> str:
    """A valid message with one field broken: unknown version or kind, an empty, huge or
    garbage id list, a missing or wrongly typed field."""
    document = valid_dict(draw(st.sampled_from(["users", "group"])), [USER])
    key = draw(st.sampled_from(sorted(document)))
    change = draw(st.sampled_from(["drop", "version", "empty-list", "value", "huge-list"]))
    if change == "drop":
        del document[key]
    elif change == "version":
        document["v"] = draw(st.integers().filter(lambda v: v != 1) | json_values)
    elif change == "empty-list":
        list_key = "userIds" if "userIds" in document else "groupIds"
        document[list_key] = []
    elif change == "huge-list":
        list_key = "userIds" if "userIds" in document else "groupIds"
        document[list_key] = [USER] * draw(st.integers(201, 5000))
    else:
        document[key] = draw(json_values.filter(lambda v: v != document[key]))
    return json.dumps(document)


garbage = (
    st.text(max_size=200)
    | json_values.map(json.dumps)
    | st.binary(max_size=100).map(lambda b: b.decode("latin-1"))
    | st.sampled_from(["", "{}", "[]", "null", '{"v": 1}', '{"v": 2, "kind": "users"}'])
)


def run(text: str, env) -> tuple[object, RecordingQueue]:
    settings_, factory = env
    queue = RecordingQueue()
    outcome = asyncio.run(process_message(text, settings_, queue, factory))
    return outcome, queue


def decodes(text: str) -> bool:
    try:
        work.decode(text)
    except work.MessageError:
        return False
    return True


@FUZZ
@given(text=garbage | broken_documents())
@example(text='{"v": 99, "kind": "users", "userIds": ["x"]}')
@example(text=json.dumps({"v": 1, "kind": "users", "userIds": [], "cause": "sync"}))
def test_undecodable_messages_are_poisoned_with_one_clear_record_and_never_raise(
    text: str, env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="reconciler.worker"):
        outcome, queue = run(text, env)
    if decodes(text):  # a mutation that kept the message valid is not garbage
        assert queue.poisoned == []
        return
    assert outcome.kind == "poisoned" and outcome.detail
    assert queue.poisoned == [text] and queue.sent == []
    [record] = [json.loads(r.getMessage()) for r in caplog.records]
    assert record["event"] == "poisoned" and record["reason"] and record["size"] == len(text)


@FUZZ
@given(
    kind=st.sampled_from(["users", "group"]),
    ids=st.lists(GUIDS | st.just(USER) | st.just(SALES), min_size=1, max_size=200, unique=True),
    cause=st.sampled_from(["notification", "recheck", "sync", "full"]),
)
def test_valid_messages_are_never_poisoned(kind: str, ids: list[str], cause: str, env) -> None:
    build = work.users_messages if kind == "users" else work.group_messages
    try:
        messages = build(ids, cause=cause)
    except work.MessageError:
        return  # a cause this kind does not take: nothing to send
    for message in messages:
        outcome, queue = run(work.encode(message), env)
        assert outcome.kind != "poisoned" and queue.poisoned == []

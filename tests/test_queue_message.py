"""reconciler.work.message: the version-1 schema, chunking, encode/decode and MessageError."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.object_id import user_id
from reconciler.work import message as work
from reconciler.work.message import GroupMessage, MaintenanceMessage, MessageError, UsersMessage

NOW = datetime(2026, 11, 25, 6, 15, 8, 123456, tzinfo=UTC)
IDS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(450)]


def test_450_user_ids_make_three_messages_of_at_most_200_in_order() -> None:
    messages = work.users_messages(IDS, cause="notification", correlation_id="c1", now=NOW)
    assert [len(m.user_ids) for m in messages] == [200, 200, 50]
    assert [i for m in messages for i in m.user_ids] == IDS
    assert {m.correlation_id for m in messages} == {"c1"}


def test_no_ids_make_no_messages() -> None:
    assert work.users_messages([], cause="sweep") == []
    assert work.group_messages((), cause="sync") == []


def test_encode_writes_the_documented_plain_json_shape() -> None:
    (message,) = work.users_messages([IDS[0]], cause="notification", correlation_id="corr", now=NOW)
    text = work.encode(message)
    assert json.loads(text) == {
        "v": 1,
        "kind": "users",
        "userIds": [IDS[0]],
        "cause": "notification",
        "correlationId": "corr",
        "enqueuedAt": "2026-11-25T06:15:08.123456Z",
    }
    assert text.startswith("{")  # not base64: the output binding encodes


def test_group_and_maintenance_messages_have_their_documented_shapes() -> None:
    (group,) = work.group_messages([IDS[1]], cause="sync", correlation_id="g", now=NOW)
    assert json.loads(work.encode(group))["groupIds"] == [IDS[1]]
    assert json.loads(work.encode(group))["kind"] == "group"
    renew = work.maintenance_message(
        "renew-subscription", cause="notification", subscription_id="sub-1", now=NOW
    )
    document = json.loads(work.encode(renew))
    assert (document["kind"], document["action"], document["subscriptionId"]) == (
        "maintenance",
        "renew-subscription",
        "sub-1",
    )
    bare = work.maintenance_message("renew-subscription", cause="sweep", now=NOW)
    assert "subscriptionId" not in json.loads(work.encode(bare))


@pytest.mark.parametrize(
    "message",
    [
        UsersMessage(tuple(IDS[:200]), "recheck", "c", NOW),
        GroupMessage((IDS[3],), "sync", "c", NOW),
        MaintenanceMessage("renew-subscription", "notification", "c", NOW, "sub"),
        MaintenanceMessage("renew-subscription", "sweep", "c", NOW),
        UsersMessage((IDS[0],), "sweep", "c", NOW.astimezone(timezone(timedelta(hours=2)))),
    ],
)
def test_encode_then_decode_round_trips(message: work.Message) -> None:
    assert work.decode(work.encode(message)) == message
    assert work.decode(work.encode(message).encode()) == message  # bytes, as get_body() gives


def test_round_trips_through_the_hosts_base64_wire_encoding() -> None:
    (message,) = work.users_messages(IDS[:2], cause="notification", now=NOW)
    wire = base64.b64encode(work.encode(message).encode()).decode("ascii")
    assert work.decode(base64.b64decode(wire)) == message


ids = st.text(
    alphabet=st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs")),
    min_size=1,
    max_size=40,
)


@given(
    user_ids=st.lists(ids, min_size=1, max_size=450),
    cause=st.sampled_from(work.CAUSES),
    correlation_id=st.text(min_size=1, max_size=40),
)
def test_any_chunked_users_messages_round_trip(
    user_ids: list[str], cause: work.Cause, correlation_id: str
) -> None:
    messages = work.users_messages(user_ids, cause=cause, correlation_id=correlation_id, now=NOW)
    assert [work.decode(work.encode(m)) for m in messages] == messages
    assert [i for m in messages for i in m.user_ids] == [user_id(i) for i in user_ids]


def valid(**changes: object) -> str:
    document: dict[str, object] = {
        "v": 1,
        "kind": "users",
        "userIds": [IDS[0]],
        "cause": "notification",
        "correlationId": "c",
        "enqueuedAt": "2026-11-25T06:15:08Z",
    }
    for name, value in changes.items():
        if value is ...:
            document.pop(name, None)
        else:
            document[name] = value
    return json.dumps(document)


def test_unknown_fields_are_ignored_within_version_1() -> None:
    message = work.decode(valid(newField={"x": 1}))
    assert isinstance(message, UsersMessage)
    assert message.user_ids == (IDS[0],)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (valid(v=2), "unsupported message version 2"),
        (valid(v="1"), "version '1'"),
        (valid(v=True), "version True"),
        (valid(v=...), "version None"),
        (valid(kind="device"), "unknown message kind 'device'"),
        (valid(kind=...), "unknown message kind None"),
        ("", "not JSON"),
        ("dXNlcnM=", "not JSON"),  # still base64: the host decodes before the trigger
        (b"\xff\xfe", "not UTF-8"),
        ("[1, 2]", "JSON object"),
        ("[" * 100_000, "not JSON"),
        (valid(userIds=[]), "userIds: empty"),
        (valid(userIds=IDS[:201]), "201 ids; a message holds at most 200"),
        (valid(userIds="abc"), "userIds: must be a list"),
        (valid(userIds=[IDS[0], 7]), "userIds[1]"),
        (valid(userIds=[""]), "userIds[0]"),
        (valid(userIds=["a b"]), "userIds[0]"),
        (valid(kind="group", userIds=...), "groupIds: missing"),
        (valid(kind="group", groupIds=[]), "groupIds: empty"),
        (valid(cause="whim"), "cause: 'whim'"),
        (valid(cause=...), "cause: missing"),
        (valid(correlationId=""), "correlationId"),
        (valid(correlationId=5), "correlationId: must be a str"),
        (valid(enqueuedAt="yesterday"), "not an ISO-8601 time"),
        (valid(enqueuedAt="2026-11-25T06:15:08"), "no zone"),
        (valid(kind="maintenance", action="reboot"), "action: 'reboot'"),
        (valid(kind="maintenance", action=...), "action: missing"),
        (valid(kind="maintenance", action="renew-subscription", subscriptionId=3), "must be"),
    ],
)
def test_decode_rejects_bad_messages_with_a_message_error_saying_what(
    text: str | bytes, words: str
) -> None:
    with pytest.raises(MessageError) as caught:
        work.decode(text)
    assert words in str(caught.value)


def test_building_a_message_with_too_many_ids_or_a_bad_cause_fails() -> None:
    with pytest.raises(MessageError, match="at most 200"):
        UsersMessage(tuple(IDS[:201]), "sync", "c", NOW)
    with pytest.raises(MessageError, match="cause"):
        work.users_messages(IDS[:1], cause="because")  # type: ignore[arg-type]
    with pytest.raises(MessageError, match="zone"):
        GroupMessage((IDS[0],), "sync", "c", datetime(2026, 1, 1))


def test_the_module_loads_only_the_standard_library() -> None:
    """The webhook imports it on every cold start: its whole import closure (the small id and
    correlation modules of our own included) is the standard library."""
    import subprocess
    import sys

    script = (
        "import sys; before = set(sys.modules); import reconciler.work.message; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(work.__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    ours = {name for name in loaded if name == "reconciler" or name.startswith("reconciler.")}
    assert "reconciler.work.message" in ours  # the check looked at a real import
    roots = {name.split(".")[0] for name in loaded if name not in ours}
    assert roots <= set(sys.stdlib_module_names), sorted(roots - set(sys.stdlib_module_names))
